"""hash sets, imports, entries, matches

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hash_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
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
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_entries'))
    )
    with op.batch_alter_table('hash_entries', schema=None) as batch_op:
        batch_op.create_index('ix_hash_entries_import', ['import_id'], unique=False)
        batch_op.create_index('ix_hash_entries_md5', ['md5'], unique=False)
        batch_op.create_index('ix_hash_entries_sha1', ['sha1'], unique=False)
        batch_op.create_index('ix_hash_entries_sha256', ['sha256'], unique=False)

    op.create_table('hash_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('set_date', sa.String(length=40), nullable=True),
    sa.Column('licence', sa.String(length=200), nullable=True),
    sa.Column('category_scheme', sa.String(length=40), nullable=True),
    sa.Column('pdq_threshold', sa.Integer(), nullable=False),
    sa.Column('current_import_id', sa.Integer(), nullable=True),
    sa.Column('entry_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_sets')),
    sa.UniqueConstraint('name', name=op.f('uq_hash_sets_name'))
    )
    op.create_table('store_state',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_store_state'))
    )
    op.create_table('hash_set_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=True),
    sa.Column('removed', sa.BigInteger(), nullable=True),
    sa.Column('bad_rows', sa.BigInteger(), nullable=False),
    sa.Column('bad_samples', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['hash_sets.id'], name=op.f('fk_hash_set_imports_set_id_hash_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_set_imports'))
    )
    with op.batch_alter_table('hash_set_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hash_set_imports_set_id'), ['set_id'], unique=False)

    op.create_table('matches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['hash_sets.id'], name=op.f('fk_matches_set_id_hash_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['contents.sha256'], name=op.f('fk_matches_sha256_contents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches')),
    sa.UniqueConstraint('sha256', 'entry_id', 'method', name=op.f('uq_matches_sha256'))
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matches_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_set_id'), ['set_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matches_sha256'))
        batch_op.drop_index(batch_op.f('ix_matches_set_id'))
        batch_op.drop_index(batch_op.f('ix_matches_entry_id'))

    op.drop_table('matches')
    with op.batch_alter_table('hash_set_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hash_set_imports_set_id'))

    op.drop_table('hash_set_imports')
    op.drop_table('store_state')
    op.drop_table('hash_sets')
    with op.batch_alter_table('hash_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_hash_entries_sha256')
        batch_op.drop_index('ix_hash_entries_sha1')
        batch_op.drop_index('ix_hash_entries_md5')
        batch_op.drop_index('ix_hash_entries_import')

    op.drop_table('hash_entries')
