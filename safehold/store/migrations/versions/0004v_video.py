"""video facts, vPDQ frames, video links, match details, listed videos' fingerprints

Revision ID: 0004v
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004v'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('container', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('duration', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('frame_rate', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('video_codec', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('audio_codec', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('video_meta', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('vpdq_frames', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contact_sheet', sa.String(length=200), nullable=True))
    op.create_table('video_frames',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.Column('quality', sa.SmallInteger(), nullable=False),
    sa.Column('pdq', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['contents.sha256'], name=op.f('fk_video_frames_sha256_contents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'frame', name=op.f('pk_video_frames'))
    )
    op.create_table('video_links',
    sa.Column('sha256_a', sa.String(length=64), nullable=False),
    sa.Column('sha256_b', sa.String(length=64), nullable=False),
    sa.Column('share_a', sa.Float(), nullable=False),
    sa.Column('share_b', sa.Float(), nullable=False),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sha256_a'], ['contents.sha256'], name=op.f('fk_video_links_sha256_a_contents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256_b'], ['contents.sha256'], name=op.f('fk_video_links_sha256_b_contents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256_a', 'sha256_b', name=op.f('pk_video_links'))
    )
    with op.batch_alter_table('video_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_links_sha256_b'), ['sha256_b'], unique=False)
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.JSON(), nullable=True))
    with op.batch_alter_table('hash_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vpdq', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('hash_entries', schema=None) as batch_op:
        batch_op.drop_column('vpdq')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_column('detail')
    with op.batch_alter_table('video_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_links_sha256_b'))
    op.drop_table('video_links')
    op.drop_table('video_frames')
    with op.batch_alter_table('contents', schema=None) as batch_op:
        for column in ('contact_sheet', 'vpdq_frames', 'video_meta', 'audio_codec', 'video_codec',
                       'frame_rate', 'duration', 'container'):
            batch_op.drop_column(column)
