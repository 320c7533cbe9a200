"""Agents and ignore rules: who answers a channel's messages, and which messages none answers.

Every channel gets the `http` agent it would have been made with: the Server at SERVER_BASE_URL
(config `{}`), priority 100. A message records the agent that wrote it (`agent_id`) or the
ignore rule that kept it (`ignored_by_rule_id`): plain ids, kept when the agent or rule is deleted.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-16
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0017"
branch_labels = None
depends_on = None


def _tenant(name: str) -> sa.Column[int]:
    return sa.Column(
        "tenant_id",
        sa.Integer(),
        sa.ForeignKey("tenants.id", name=f"fk_{name}_tenant", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    agents = op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("agents"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agent_type", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_agents_tenant", "agents", ["tenant_id", "id"])
    agent_channels = op.create_table(
        "agent_channels",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_agent_channels_agent", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", name="fk_agent_channels_channel", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_agent_channels_channel", "agent_channels", ["channel_id"])
    op.create_table(
        "ignore_rules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("ignore_rules"),
        sa.Column("rule_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", name="fk_ignore_rules_channel", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ignore_rules_tenant", "ignore_rules", ["tenant_id", "id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ignored_by_rule_id", sa.Integer(), nullable=True))

    # Each existing channel's first agent, one at a time: a handful of rows.
    bind = op.get_bind()
    channels = sa.table("channels", sa.column("id"), sa.column("tenant_id"))
    now = datetime.now(UTC).replace(tzinfo=None)
    for channel_id, tenant_id in bind.execute(
        sa.select(channels.c.id, channels.c.tenant_id).order_by(channels.c.id)
    ).all():
        agent_id = bind.execute(
            agents.insert()
            .values(
                tenant_id=tenant_id,
                name="Server",
                agent_type="http",
                config={},
                priority=100,
                created_at=now,
                updated_at=now,
            )
            .returning(agents.c.id)
        ).scalar_one()
        bind.execute(agent_channels.insert().values(agent_id=agent_id, channel_id=channel_id))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("ignored_by_rule_id")
        batch.drop_column("agent_id")
    op.drop_index("ix_ignore_rules_tenant", "ignore_rules")
    op.drop_table("ignore_rules")
    op.drop_index("ix_agent_channels_channel", "agent_channels")
    op.drop_table("agent_channels")
    op.drop_index("ix_agents_tenant", "agents")
    op.drop_table("agents")
