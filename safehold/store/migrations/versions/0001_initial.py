"""cases, evidence, custody, contents, files, ingest batches

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('name', name=op.f('uq_cases_name'))
    )
    op.create_table('contents',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha1', sa.String(length=40), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=True),
    sa.Column('media_kind', sa.String(length=20), nullable=True),
    sa.Column('image_format', sa.String(length=20), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('pdq', sa.String(length=64), nullable=True),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('pdq_dihedral', sa.Text(), nullable=True),
    sa.Column('exif', sa.JSON(), nullable=True),
    sa.Column('camera_make', sa.String(length=100), nullable=True),
    sa.Column('camera_model', sa.String(length=100), nullable=True),
    sa.Column('camera_serial', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_contents'))
    )
    with op.batch_alter_table('contents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contents_camera_serial'), ['camera_serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_contents_md5'), ['md5'], unique=False)
        batch_op.create_index(batch_op.f('ix_contents_sha1'), ['sha1'], unique=False)

    op.create_table('evidence_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('source_kind', sa.String(length=20), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=False),
    sa.Column('acquisition_hash', sa.String(length=64), nullable=False),
    sa.Column('acquisition_method', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('top_file_count', sa.BigInteger(), nullable=False),
    sa.Column('seized_by', sa.String(length=200), nullable=True),
    sa.Column('seized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seized_location', sa.Text(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ingest_state', sa.String(length=20), nullable=False),
    sa.Column('ingest_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_evidence_items_case_id_cases'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_items'))
    )
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_items_case_id'), ['case_id'], unique=False)

    op.create_table('custody_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_items.id'], name=op.f('fk_custody_events_evidence_id_evidence_items'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_events'))
    )
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_events_evidence_id'), ['evidence_id'], unique=False)

    op.create_table('files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('locator_hash', sa.String(length=64), nullable=False),
    sa.Column('locator', sa.Text(), nullable=False),
    sa.Column('display', sa.Text(), nullable=False),
    sa.Column('parent_sha256', sa.String(length=64), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('inode', sa.String(length=40), nullable=True),
    sa.Column('mtime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('atime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ctime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('crtime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('batch_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_items.id'], name=op.f('fk_files_evidence_id_evidence_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sha256'], ['contents.sha256'], name=op.f('fk_files_sha256_contents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
    sa.UniqueConstraint('locator_hash', name=op.f('uq_files_locator_hash'))
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index('ix_files_evidence_error', ['evidence_id', 'error_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_sha256'), ['sha256'], unique=False)

    op.create_table('ingest_batches',
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('first_ref', sa.Text(), nullable=False),
    sa.Column('top_count', sa.Integer(), nullable=False),
    sa.Column('top_bytes', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_items.id'], name=op.f('fk_ingest_batches_evidence_id_evidence_items'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('evidence_id', 'seq', name=op.f('pk_ingest_batches'))
    )


def downgrade() -> None:
    op.drop_table('ingest_batches')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_files_sha256'))
        batch_op.drop_index('ix_files_evidence_error')

    op.drop_table('files')
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_events_evidence_id'))

    op.drop_table('custody_events')
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_items_case_id'))

    op.drop_table('evidence_items')
    with op.batch_alter_table('contents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contents_sha1'))
        batch_op.drop_index(batch_op.f('ix_contents_md5'))
        batch_op.drop_index(batch_op.f('ix_contents_camera_serial'))

    op.drop_table('contents')
    op.drop_table('cases')
