from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.agents.models import DEFAULT_AGENT_NAME, DEFAULT_PRIORITY, Agent, AgentChannel, AgentType
from app.channels.models import Channel
from app.core.clock import utcnow
from app.messages.models import Direction, Message


async def get(session: AsyncSession, tenant_id: int, agent_id: int) -> Agent | None:
    agent: Agent | None = await session.scalar(
        select(Agent).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
    )
    return agent


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> list[Agent]:
    query = select(Agent).where(Agent.tenant_id == tenant_id).order_by(Agent.id).limit(limit)
    if after_id is not None:
        query = query.where(Agent.id > after_id)
    return list((await session.scalars(query)).all())


async def channels_of(session: AsyncSession, agents: Sequence[Agent]) -> dict[int, list[int]]:
    """Each agent's channel ids, in order: those it serves now, every one of its tenant's for an
    agent on all channels."""
    found: dict[int, list[int]] = {agent.id: [] for agent in agents}
    named = [agent.id for agent in agents if not agent.all_channels]
    if named:
        rows = await session.execute(
            select(AgentChannel.agent_id, AgentChannel.channel_id)
            .where(AgentChannel.agent_id.in_(named))
            .order_by(AgentChannel.agent_id, AgentChannel.channel_id)
        )
        for agent_id, channel_id in rows.all():
            found[agent_id].append(channel_id)
    everywhere = [agent for agent in agents if agent.all_channels]
    if everywhere:
        tenant_ids = {agent.tenant_id for agent in everywhere}
        rows = await session.execute(
            select(Channel.tenant_id, Channel.id)
            .where(Channel.tenant_id.in_(tenant_ids))
            .order_by(Channel.id)
        )
        of_tenant: dict[int, list[int]] = {tenant_id: [] for tenant_id in tenant_ids}
        for tenant_id, channel_id in rows.all():
            of_tenant[tenant_id].append(channel_id)
        for agent in everywhere:
            found[agent.id] = list(of_tenant[agent.tenant_id])
    return found


async def tenant_channels(
    session: AsyncSession, tenant_id: int, channel_ids: Sequence[int]
) -> set[int]:
    """Those of `channel_ids` the tenant has."""
    if not channel_ids:
        return set()
    rows = await session.scalars(
        select(Channel.id).where(Channel.tenant_id == tenant_id, Channel.id.in_(channel_ids))
    )
    return set(rows.all())


async def set_channels(session: AsyncSession, agent_id: int, channel_ids: Sequence[int]) -> None:
    await session.execute(delete(AgentChannel).where(AgentChannel.agent_id == agent_id))
    for channel_id in sorted(set(channel_ids)):
        session.add(AgentChannel(agent_id=agent_id, channel_id=channel_id))


async def add_default_agent(connection: AsyncConnection, tenant_id: int, channel_id: int) -> None:
    """The `http` agent a channel starts with: the Server at SERVER_BASE_URL, priority 100."""
    now = utcnow()
    agent_id = await connection.scalar(
        insert(Agent)
        .values(
            tenant_id=tenant_id,
            name=DEFAULT_AGENT_NAME,
            agent_type=AgentType.HTTP.value,
            config={},
            priority=DEFAULT_PRIORITY,
            created_at=now,
            updated_at=now,
        )
        .returning(Agent.id)
    )
    await connection.execute(insert(AgentChannel).values(agent_id=agent_id, channel_id=channel_id))


# --- the message path -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRow:
    id: int
    agent_type: str
    config: dict[str, Any]
    priority: int


_a = Agent.__table__.c
_ac = AgentChannel.__table__.c
_ch = Channel.__table__.c
_asked = union_all(
    # Named on the channel...
    select(_ac.channel_id, _a.id, _a.agent_type, _a.config, _a.priority)
    .join_from(AgentChannel.__table__, Agent.__table__, _a.id == _ac.agent_id)
    .where(_ac.channel_id.in_(bindparam("b_channels", expanding=True))),
    # ... or on every channel of the channel's tenant (such an agent has no rows to name one).
    select(_ch.id.label("channel_id"), _a.id, _a.agent_type, _a.config, _a.priority)
    .join_from(Channel.__table__, Agent.__table__, _a.tenant_id == _ch.tenant_id)
    .where(_ch.id.in_(bindparam("b_channels", expanding=True)), _a.all_channels.is_(true())),
).subquery()
_OF_CHANNELS = select(_asked).order_by(_asked.c.channel_id, _asked.c.priority, _asked.c.id)


async def agents_of_channels(
    connection: AsyncConnection, channel_ids: Sequence[int]
) -> dict[int, list[AgentRow]]:
    """Each channel's agents in the order they are asked: priority, smallest first, then id."""
    found: dict[int, list[AgentRow]] = {channel_id: [] for channel_id in channel_ids}
    rows = await connection.execute(_OF_CHANNELS, {"b_channels": list(channel_ids)})
    for channel_id, *agent in rows.all():
        found[channel_id].append(AgentRow(*agent))
    return found


_m = Message.__table__.c
_HISTORY = (
    select(_m.direction, _m.text)
    .where(
        _m.conversation_id == bindparam("b_conversation"),
        _m.id < bindparam("b_before"),
        _m.text.is_not(None),
    )
    .order_by(_m.id.desc())
    .limit(bindparam("b_limit"))
)


async def history(
    connection: AsyncConnection, conversation_id: int, before_id: int, limit: int
) -> list[tuple[bool, str]]:
    """The conversation's last `limit` texts before message `before_id`, oldest first, as
    (from the contact, text)."""
    rows = await connection.execute(
        _HISTORY, {"b_conversation": conversation_id, "b_before": before_id, "b_limit": limit}
    )
    return [
        (direction == Direction.INBOUND.value, text) for direction, text in reversed(rows.all())
    ]
