"""Read marks: how far each member has read each conversation, for the inbox's unread counts.

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_reads",
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey(
                "conversations.id", name="fk_conversation_reads_conversation", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("members.id", name="fk_conversation_reads_member", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conversation_reads")
