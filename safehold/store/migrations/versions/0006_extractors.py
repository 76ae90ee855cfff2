"""extractors: the ledger of extractor runs per content, and the artifacts they found;
contents ingested before it are entered in the ledger under the built-in extractors' first versions

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# What ingest ran on every content before extractors were plugins (their version 1).
_BACKFILL = (
    ("hashes", "1 = 1"),
    ("filetype", "1 = 1"),
    ("image", "media_kind = 'image'"),
    ("video", "media_kind = 'video'"),
)


def upgrade() -> None:
    op.create_table(
        'extractor_runs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('extractor', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', 'extractor', name=op.f('pk_extractor_runs')),
    )
    op.create_table(
        'artifacts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('extractor', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=True),
        sa.Column('place', sa.String(length=200), nullable=True),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_artifacts')),
        sa.UniqueConstraint('key', name=op.f('uq_artifacts_key')),
    )
    op.create_index('ix_artifacts_sha256_extractor', 'artifacts', ['sha256', 'extractor'], unique=False)
    op.create_index('ix_artifacts_extractor_kind', 'artifacts', ['extractor', 'kind'], unique=False)
    for name, where in _BACKFILL:
        sql = ("INSERT INTO extractor_runs (sha256, extractor, version, error, at) "  # noqa: S608 - constants above
               f"SELECT sha256, '{name}', 1, NULL, CURRENT_TIMESTAMP FROM contents WHERE {where}")
        op.execute(sa.text(sql))


def downgrade() -> None:
    op.drop_index('ix_artifacts_extractor_kind', table_name='artifacts')
    op.drop_index('ix_artifacts_sha256_extractor', table_name='artifacts')
    op.drop_table('artifacts')
    op.drop_table('extractor_runs')
