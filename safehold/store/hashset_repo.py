"""Hash-list storage, one name to import from: writing entries (``hashset_write``), big-load upkeep
of indexes and purges (``hashset_bulk``), entry keys and version diffs (``hashset_keys``), and
exact matching in SQL (``hashset_match``). Each concern lives in its own module; services and
tests import from here so that the split stays an internal matter.
"""

from __future__ import annotations

from safehold.store.hashset_bulk import (
    HASH_INDEXES,
    IMPORT_INDEX,
    build_hash_indexes,
    bulk_loading,
    drop_hash_indexes,
    ensure_hash_indexes,
    purge_entries,
    purge_import,
    table_rows,
)
from safehold.store.hashset_keys import KeySet, count_diff, diff_imports, entry_keys, key_pdq, stored_keys
from safehold.store.hashset_match import (
    GENERATION_KEY,
    analyze,
    bump_generation,
    case_contents,
    exact_match,
    generation,
    insert_pdq_matches,
)
from safehold.store.hashset_write import COLUMN_ENTRY_COLUMNS, ENTRY_COLUMNS, EntryWriter, ExtraIds, copy_entries

__all__ = [
    "COLUMN_ENTRY_COLUMNS",
    "ENTRY_COLUMNS",
    "GENERATION_KEY",
    "HASH_INDEXES",
    "IMPORT_INDEX",
    "EntryWriter",
    "ExtraIds",
    "KeySet",
    "analyze",
    "build_hash_indexes",
    "bulk_loading",
    "bump_generation",
    "case_contents",
    "copy_entries",
    "count_diff",
    "diff_imports",
    "drop_hash_indexes",
    "ensure_hash_indexes",
    "entry_keys",
    "exact_match",
    "generation",
    "insert_pdq_matches",
    "key_pdq",
    "purge_entries",
    "purge_import",
    "stored_keys",
    "table_rows",
]
