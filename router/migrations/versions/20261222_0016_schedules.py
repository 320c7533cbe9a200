"""Scheduled messages: `schedules` (what, to whom, when; the next run) and `schedule_messages`
(the message each run made per recipient, once per due time).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.Integer(),
            sa.ForeignKey("tenants.id", name="fk_schedules_tenant", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", name="fk_schedules_channel", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("template", sa.JSON(), nullable=True),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_schedules_next_run_at", "schedules", ["next_run_at"])
    op.create_index("ix_schedules_tenant", "schedules", ["tenant_id", "id"])
    op.create_table(
        "schedule_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "schedule_id",
            sa.Integer(),
            sa.ForeignKey("schedules.id", name="fk_schedule_messages_schedule", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", name="fk_schedule_messages_message", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "schedule_id", "due_at", "contact_id", name="uq_schedule_messages_run_contact"
        ),
    )
    op.create_index("ix_schedule_messages_message", "schedule_messages", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_schedule_messages_message", "schedule_messages")
    op.drop_table("schedule_messages")
    op.drop_index("ix_schedules_tenant", "schedules")
    op.drop_index("ix_schedules_next_run_at", "schedules")
    op.drop_table("schedules")
