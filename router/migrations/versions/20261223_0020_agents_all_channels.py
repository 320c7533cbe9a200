"""Agents on every channel: `agents.all_channels`, for an agent made without `channel_ids`. It
serves each channel of its tenant, those added later too, with no `agent_channels` rows.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column("all_channels", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # An agent on every channel keeps serving those it serves now, named one by one.
    agents = sa.table(
        "agents",
        sa.column("id", sa.Integer()),
        sa.column("tenant_id", sa.Integer()),
        sa.column("all_channels", sa.Boolean()),
    )
    channels = sa.table(
        "channels", sa.column("id", sa.Integer()), sa.column("tenant_id", sa.Integer())
    )
    op.execute(
        sa.insert(
            sa.table("agent_channels", sa.column("agent_id"), sa.column("channel_id"))
        ).from_select(
            ["agent_id", "channel_id"],
            sa.select(agents.c.id, channels.c.id)
            .join_from(agents, channels, channels.c.tenant_id == agents.c.tenant_id)
            .where(agents.c.all_channels.is_(sa.true())),
        )
    )
    op.drop_column("agents", "all_channels")
