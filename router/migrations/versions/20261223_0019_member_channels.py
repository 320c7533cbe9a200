"""The numbers members are on (`member_channels`) and the numbers a key is limited to
(`api_keys.channel_ids`).

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_channels",
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("members.id", name="fk_member_channels_member", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", name="fk_member_channels_channel", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_member_channels_channel", "member_channels", ["channel_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("channel_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("channel_ids")
    op.drop_index("ix_member_channels_channel", "member_channels")
    op.drop_table("member_channels")
