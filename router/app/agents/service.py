"""Agents: saved with their channels; an llm's api_key is kept and never shown."""

from typing import Any

from pydantic import MISSING, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import repository
from app.agents.models import Agent, AgentType
from app.agents.schemas import CONFIGS, AgentIn, AgentOut, AgentPatch, AnyConfig, LlmConfig
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of


def stored_config(config: AnyConfig, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """The config as the store keeps it: JSON, the api_key in clear (`keep`'s when left out)."""
    stored = config.model_dump(mode="json", exclude={"api_key"})
    if isinstance(config, LlmConfig):
        if isinstance(config.api_key, SecretStr):
            stored["api_key"] = config.api_key.get_secret_value()
        elif config.api_key is MISSING and keep and keep.get("api_key"):
            stored["api_key"] = keep["api_key"]
        else:
            stored["api_key"] = None
    return stored


def public_config(agent: Agent) -> dict[str, Any]:
    config = dict(agent.config)
    if agent.agent_type == AgentType.LLM.value:
        config["api_key_set"] = bool(config.pop("api_key", None))
    return config


def out(agent: Agent, channel_ids: list[int]) -> AgentOut:
    return AgentOut(
        id=agent.id,
        name=agent.name,
        agent_type=AgentType(agent.agent_type),
        config=public_config(agent),
        channel_ids=channel_ids,
        all_channels=agent.all_channels,
        priority=agent.priority,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> tuple[list[AgentOut], str | None]:
    rows = await repository.page(session, tenant_id, after_id, limit + 1)
    items, cursor = page_of(rows, limit, lambda a: a.id)
    channels = await repository.channels_of(session, items)
    return [out(a, channels[a.id]) for a in items], cursor


async def get(session: AsyncSession, tenant_id: int, agent_id: int) -> AgentOut:
    agent = await _agent(session, tenant_id, agent_id)
    return out(agent, (await repository.channels_of(session, [agent]))[agent.id])


async def _agent(session: AsyncSession, tenant_id: int, agent_id: int) -> Agent:
    agent = await repository.get(session, tenant_id, agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent


async def _set_channels(session: AsyncSession, agent: Agent, channel_ids: list[int] | None) -> None:
    """Name the agent's channels; None: every channel of its tenant, those added later too."""
    if channel_ids is not None:
        found = await repository.tenant_channels(session, agent.tenant_id, channel_ids)
        missing = sorted(set(channel_ids) - found)
        if missing:
            raise NotFound(f"no channel {missing[0]}")
    agent.all_channels = channel_ids is None
    await session.flush()
    await repository.set_channels(session, agent.id, channel_ids or [])


async def create(session: AsyncSession, tenant_id: int, body: AgentIn) -> AgentOut:
    agent = Agent(
        tenant_id=tenant_id,
        name=body.name,
        agent_type=body.agent_type,
        config=stored_config(body.config),
        priority=body.priority,
    )
    session.add(agent)
    await _set_channels(session, agent, body.channel_ids)
    await session.commit()
    return out(agent, (await repository.channels_of(session, [agent]))[agent.id])


async def update(
    session: AsyncSession, tenant_id: int, agent_id: int, body: AgentPatch
) -> AgentOut:
    agent = await _agent(session, tenant_id, agent_id)
    if body.config is not MISSING:
        expected = CONFIGS[AgentType(agent.agent_type)]
        if not isinstance(body.config, expected):
            raise Conflict(
                f"config: agent {agent.id} is a {agent.agent_type} agent; its config is of its type"
            )
        agent.config = stored_config(body.config, keep=agent.config)
    if body.name is not MISSING:
        agent.name = body.name
    if body.priority is not MISSING:
        agent.priority = body.priority
    if body.channel_ids is not MISSING:
        await _set_channels(session, agent, body.channel_ids)
    await session.commit()
    await session.refresh(agent)
    return out(agent, (await repository.channels_of(session, [agent]))[agent.id])


async def delete(session: AsyncSession, tenant_id: int, agent_id: int) -> None:
    agent = await _agent(session, tenant_id, agent_id)
    await repository.set_channels(session, agent.id, [])
    await session.delete(agent)
    await session.commit()
