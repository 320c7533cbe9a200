"""Burst debounce: a channel's `debounce_ms`, and the turn each inbound message was answered in.

`messages.turn_id` is the id of the turn's last message, on every message of the turn: the turn is
in the store, so a router restarted in the middle of a turn forms the same one again.

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has dropped a column in place since 3.35): a batch
# operation would copy the tables, and `channels` is referred to by every message.


def upgrade() -> None:
    op.add_column("channels", sa.Column("debounce_ms", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("turn_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "turn_id")
    op.drop_column("channels", "debounce_ms")
