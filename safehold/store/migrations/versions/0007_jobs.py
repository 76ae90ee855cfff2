"""jobs: per-case state of the named jobs after ingest (gallery listing, matching, clusters)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'jobs',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('stamp', sa.String(length=200), nullable=True),
        sa.Column('owner', sa.String(length=200), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_jobs_case_id_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id', 'name', name=op.f('pk_jobs')),
    )


def downgrade() -> None:
    op.drop_table('jobs')
