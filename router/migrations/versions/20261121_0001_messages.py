"""Messages and status events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("wamid", sa.String(255), nullable=True),
        sa.Column("phone_number_id", sa.String(64), nullable=False),
        sa.Column("contact", sa.String(128), nullable=False),
        sa.Column("wa_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("contact_name", sa.String(255), nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reply_to_id", sa.Integer(), sa.ForeignKey("messages.id"), nullable=True),
        sa.Column("part", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("wamid", name="uq_messages_wamid"),
        sa.UniqueConstraint("reply_to_id", "part", name="uq_messages_reply_part"),
    )
    op.create_index("ix_messages_contact_order", "messages", ["phone_number_id", "contact", "id"])
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("wamid", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.Text(), nullable=True),
        sa.Column("meta_timestamp", sa.String(32), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("wamid", "status", name="uq_status_events_wamid_status"),
    )
    op.create_index("ix_status_events_wamid", "status_events", ["wamid"])


def downgrade() -> None:
    op.drop_table("status_events")
    op.drop_index("ix_messages_status", "messages")
    op.drop_index("ix_messages_contact_order", "messages")
    op.drop_table("messages")
