"""Trackers: the biz_opaque_callback_data each reply part is sent with, and the one each status
webhook echoes, so a part whose send a crash interrupted can find its wamid.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("tracker", sa.String(64), nullable=True))
    with op.batch_alter_table("status_events") as batch:
        batch.add_column(sa.Column("tracker", sa.String(512), nullable=True))
    op.create_index("ix_status_events_tracker", "status_events", ["tracker"])


def downgrade() -> None:
    op.drop_index("ix_status_events_tracker", "status_events")
    with op.batch_alter_table("status_events") as batch:
        batch.drop_column("tracker")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("tracker")
