"""An agent of the message path from its stored row."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents import repository
from app.agents.base import Agent
from app.agents.directory import Build
from app.agents.http import HttpAgent
from app.agents.llm import LlmAgent
from app.agents.models import AgentType
from app.agents.repository import AgentRow
from app.agents.rule_based import RuleBasedAgent
from app.agents.schemas import HttpConfig, LlmConfig, RuleBasedConfig
from app.backend import Backend
from app.observability.metrics import Metrics


def builder(
    engine: AsyncEngine, backend: Backend, llm_client: httpx.AsyncClient, metrics: Metrics
) -> Build:
    async def history(conversation_id: int, before_id: int, limit: int) -> list[tuple[bool, str]]:
        async with engine.connect() as connection:
            return await repository.history(connection, conversation_id, before_id, limit)

    def build(row: AgentRow) -> Agent:
        kind = AgentType(row.agent_type)
        if kind is AgentType.HTTP:
            url = HttpConfig.model_validate(row.config).url
            return HttpAgent(row.id, backend, str(url) if url is not None else None)
        if kind is AgentType.RULE_BASED:
            return RuleBasedAgent(row.id, RuleBasedConfig.model_validate(row.config))
        config = LlmConfig.model_validate(row.config)
        return LlmAgent(row.id, config, llm_client, backend, history, metrics)

    return build
