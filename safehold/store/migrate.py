"""Alembic, driven from code so a fresh data directory or database needs no extra step.

Every command opens the store, and importing Alembic alone costs ~0.5 s, a quarter of a small
ingest. ``is_current`` answers "is this store already at the newest schema?" from the revision
files' text and the ``alembic_version`` row, so Alembic is imported only when there is work.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "is_current", "schema_heads", "upgrade"]

_HERE = Path(__file__).parent
_VERSIONS = _HERE / "migrations" / "versions"
_ASSIGN = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


@cache
def schema_heads() -> frozenset[str]:
    """Revisions no other revision builds on, read from the version files without running them."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        found = {m[1]: m[2] for m in _ASSIGN.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue
        revisions.add(str(ast.literal_eval(found["revision"])))
        down = ast.literal_eval(found.get("down_revision", "None"))
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
    return frozenset(revisions - parents)


def is_current(engine: Engine) -> bool:
    """True when the store's recorded revisions are exactly the newest ones."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        stamped = {str(r) for r in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()}
    return stamped == set(schema_heads())


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and is_current(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
