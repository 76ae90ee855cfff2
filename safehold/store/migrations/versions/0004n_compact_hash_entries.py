"""compact hash entries: digests as bytes, extras once per import

Revision ID: 0004n
Revises: 0004w

Hex digests took twice their bytes in the row and in each of three indexes, and NSRL's product
description was repeated as JSON on every file of the product: ~470 bytes per entry on SQLite,
~580 on PostgreSQL, too much for a 100M-row list. The table is rebuilt (ids kept: matches refer
to them) with MD5/SHA-1/SHA-256/PDQ as BLOB/BYTEA, fixed-width columns first, and ``extra``
moved to ``hash_extras`` (one row per distinct value per import, referenced by ``extra_id``).
``vpdq`` (0004v: a listed video's packed frames) is bytes already and is copied as it is.
A rebuild writes each row once; ALTER … TYPE plus an UPDATE for ``extra_id`` would write it twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004n'
down_revision = '0004w'
branch_labels = None
depends_on = None

DIGESTS = (("md5", 16), ("sha1", 20), ("sha256", 32), ("pdq", 32))
INDEXES = (("ix_hash_entries_md5", "md5"), ("ix_hash_entries_sha1", "sha1"),
           ("ix_hash_entries_sha256", "sha256"), ("ix_hash_entries_import", "import_id"))
# Columns both layouts share, copied as they are.
PLAIN = ("size", "set_id", "import_id", "pdq_quality", "category_scheme", "category_code", "series",
         "file_name", "photodna", "victim_identified", "offender_identified", "distributed", "vpdq")


def _id_column(pg: bool) -> sa.Column:  # type: ignore[type-arg]
    # PostgreSQL: a plain BIGINT that takes over the old table's sequence (ids never go back).
    return sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False,
                     autoincrement=not pg)


def _compact_table(pg: bool) -> None:
    op.create_table('hash_entries',
    _id_column(pg),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('extra_id', sa.Integer(), nullable=True),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('md5', sa.LargeBinary(), nullable=True),
    sa.Column('sha1', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.LargeBinary(), nullable=True),
    sa.Column('pdq', sa.LargeBinary(), nullable=True),
    sa.Column('category_scheme', sa.String(length=40), nullable=True),
    sa.Column('category_code', sa.String(length=40), nullable=True),
    sa.Column('series', sa.Text(), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=True),
    sa.Column('photodna', sa.Text(), nullable=True),
    sa.Column('victim_identified', sa.Boolean(), nullable=True),
    sa.Column('offender_identified', sa.Boolean(), nullable=True),
    sa.Column('distributed', sa.Boolean(), nullable=True),
    sa.Column('vpdq', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_entries'))
    )


def _text_table(pg: bool) -> None:
    """The 0004w layout (0002's, plus 0004v's ``vpdq``), for the downgrade."""
    op.create_table('hash_entries',
    _id_column(pg),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=True),
    sa.Column('sha1', sa.String(length=40), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('pdq', sa.String(length=64), nullable=True),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('photodna', sa.Text(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('category_scheme', sa.String(length=40), nullable=True),
    sa.Column('category_code', sa.String(length=40), nullable=True),
    sa.Column('series', sa.Text(), nullable=True),
    sa.Column('victim_identified', sa.Boolean(), nullable=True),
    sa.Column('offender_identified', sa.Boolean(), nullable=True),
    sa.Column('distributed', sa.Boolean(), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('vpdq', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_entries'))
    )


def _set_aside(pg: bool, old: str) -> str | None:
    """Rename the current table out of the way (indexes dropped: their names are reused);
    returns the PostgreSQL id sequence, which the new table takes over."""
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(f"ALTER TABLE hash_entries RENAME TO {old}")
    if not pg:
        return None
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_hash_entries TO pk_{old}")
    seq = op.get_bind().execute(sa.text(f"SELECT pg_get_serial_sequence('{old}', 'id')")).scalar()
    return str(seq) if seq else None


def _finish(pg: bool, old: str, seq: str | None) -> None:
    if pg and seq:
        op.execute(f"ALTER SEQUENCE {seq} OWNED BY hash_entries.id")
        op.execute(f"ALTER TABLE hash_entries ALTER COLUMN id SET DEFAULT nextval('{seq}'::regclass)")
    op.execute(f"DROP TABLE {old}")
    for name, column in INDEXES:
        op.execute(f"CREATE INDEX {name} ON hash_entries ({column})")


def _unhex(pg: bool, column: str, nbytes: int) -> str:
    # Stored digests were checked hex; anything else becomes NULL rather than stopping the upgrade.
    if pg:
        return (f"CASE WHEN length({column}) = {2 * nbytes} AND {column} !~ '[^0-9A-Fa-f]'"
                f" THEN decode({column}, 'hex') END")
    return f"CASE WHEN length({column}) = {2 * nbytes} THEN unhex({column}) END"


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if not pg:
        from safehold.store.digests import ensure_sqlite_unhex

        raw = bind.connection.dbapi_connection
        assert raw is not None
        ensure_sqlite_unhex(raw)  # type: ignore[arg-type]
    op.create_table('hash_extras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_extras'))
    )
    op.create_index('ix_hash_extras_import', 'hash_extras', ['import_id'], unique=False)
    old = "hash_entries_0004w"
    seq = _set_aside(pg, old)
    extra = "CAST(o.extra AS TEXT)" if pg else "o.extra"
    # One extras row per distinct (import, JSON text); JSON null and {} are no extra at all.
    data = "CAST(t AS JSON)" if pg else "t"
    op.execute(  # all names are this module's constants, here and below
        f"INSERT INTO hash_extras (import_id, data) SELECT import_id, {data} FROM (SELECT DISTINCT"  # noqa: S608
        f" o.import_id AS import_id, {extra} AS t FROM {old} o WHERE o.extra IS NOT NULL) d"
        " WHERE t NOT IN ('null', '{}') ORDER BY import_id")
    if not pg:  # for the join below (PostgreSQL hashes the extras instead)
        op.execute("CREATE INDEX ix_hash_extras_0004n ON hash_extras (import_id, data)")
    _compact_table(pg)
    digests = ", ".join(_unhex(pg, f"o.{c}", n) for c, n in DIGESTS)
    plain = ", ".join(f"o.{c}" for c in PLAIN)
    data = "CAST(x.data AS TEXT)" if pg else "x.data"
    op.execute(
        f"INSERT INTO hash_entries (id, {', '.join(PLAIN)}, {', '.join(c for c, _ in DIGESTS)}, extra_id)"  # noqa: S608
        f" SELECT o.id, {plain}, {digests}, x.id FROM {old} o LEFT JOIN hash_extras x"
        f" ON x.import_id = o.import_id AND {data} = {extra} ORDER BY o.id")
    op.execute("DROP INDEX IF EXISTS ix_hash_extras_0004n")
    _finish(pg, old, seq)


def downgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    old = "hash_entries_0004n"
    seq = _set_aside(pg, old)
    _text_table(pg)
    if pg:
        digests = ", ".join(f"encode(o.{c}, 'hex')" for c, _ in DIGESTS)
    else:
        digests = ", ".join(f"CASE WHEN o.{c} IS NOT NULL THEN lower(hex(o.{c})) END" for c, _ in DIGESTS)
    op.execute(
        f"INSERT INTO hash_entries (id, {', '.join(PLAIN)}, {', '.join(c for c, _ in DIGESTS)}, extra)"  # noqa: S608
        f" SELECT o.id, {', '.join(f'o.{c}' for c in PLAIN)}, {digests}, x.data FROM {old} o"
        " LEFT JOIN hash_extras x ON x.id = o.extra_id ORDER BY o.id")
    _finish(pg, old, seq)
    op.drop_index('ix_hash_extras_import', table_name='hash_extras')
    op.drop_table('hash_extras')
