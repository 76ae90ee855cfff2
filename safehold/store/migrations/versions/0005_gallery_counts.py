"""gallery counts: the listing's media total and the queue counts, kept with the listing;
the newest file per evidence item by index

Revision ID: 0005
Revises: 0004n
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004n'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_gallery_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('counts', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('counts_stamp', sa.String(length=200), nullable=True))
    with op.batch_alter_table('case_gallery', schema=None) as batch_op:
        batch_op.create_index('ix_case_gallery_kind', ['case_id', 'media_kind'], unique=False)
    # The newest file of an evidence item in one index step (services.gallery.files_stamp). SQLite
    # would not use its evidence_id index for that (it preferred evidence_id+error_code).
    op.create_index('ix_files_evidence_id_id', 'files', ['evidence_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_files_evidence_id_id', table_name='files')
    with op.batch_alter_table('case_gallery', schema=None) as batch_op:
        batch_op.drop_index('ix_case_gallery_kind')
    with op.batch_alter_table('case_gallery_state', schema=None) as batch_op:
        batch_op.drop_column('counts_stamp')
        batch_op.drop_column('counts')
        batch_op.drop_column('media')
