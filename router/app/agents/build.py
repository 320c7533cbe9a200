"""An agent of the message path from its stored row."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents import repository
from app.agents.audience import Screened
from app.agents.backend import Backend
from app.agents.base import Agent
from app.agents.directory import Build
from app.agents.http import HttpAgent
from app.agents.llm import Endpoint, LlmAgent
from app.agents.models import AgentType
from app.agents.repository import AgentRow
from app.agents.rule_based import RuleBasedAgent
from app.agents.schemas import HttpConfig, LlmConfig, RuleBasedConfig
from app.observability.metrics import Metrics


def builder(
    engine: AsyncEngine,
    backend: Backend,
    llm_client: httpx.AsyncClient,
    metrics: Metrics,
    llm_endpoint: Endpoint,
) -> Build:
    async def history(conversation_id: int, before_id: int, limit: int) -> list[tuple[bool, str]]:
        async with engine.connect() as connection:
            return await repository.history(connection, conversation_id, before_id, limit)

    def build(row: AgentRow) -> Agent:
        kind = AgentType(row.agent_type)
        if kind is AgentType.HTTP:
            http = HttpConfig.model_validate(row.config)
            url = str(http.url) if http.url is not None else None
            return Screened(HttpAgent(row.id, backend, url), http)
        if kind is AgentType.RULE_BASED:
            rules = RuleBasedConfig.model_validate(row.config)
            return Screened(RuleBasedAgent(row.id, rules), rules)
        llm = LlmConfig.model_validate(row.config)
        agent = LlmAgent(row.id, llm, llm_client, backend, history, metrics, llm_endpoint)
        return Screened(agent, llm)

    return build
