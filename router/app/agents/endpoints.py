"""`/api/v1/agents`: who answers a channel's messages (admins write, every role reads)."""

from fastapi import APIRouter, Response

from app.agents import service
from app.agents.schemas import AgentIn, AgentOut, AgentPatch
from app.auth.principal import ChannelsScope, ReadScope
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.lifespan import AgentDirectoryDep

# The message path keeps each channel's agents in memory: a write here is seen at once.

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], responses=answers(NotFound))


@router.get("")
async def list_agents(
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[AgentOut]:
    """The tenant's agents, oldest first (an llm's api_key never)."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody))
async def create_agent(
    body: AgentIn, scope: ChannelsScope, session: SessionDep, directory: AgentDirectoryDep
) -> AgentOut:
    """Add an agent to channels: they ask it in priority order, smallest first.

    404 when a channel id is not one of the tenant's; 422 naming a rule whose pattern is bad."""
    agent = await service.create(session, scope.tenant_id, body)
    directory.forget()
    return agent


@router.get("/{agent_id}")
async def get_agent(agent_id: IdPath, scope: ReadScope, session: SessionDep) -> AgentOut:
    """One agent (an llm's api_key never: `api_key_set` says whether it has one)."""
    return await service.get(session, scope.tenant_id, agent_id)


@router.patch("/{agent_id}", responses=declared(UnreadableBody, Conflict))
async def update_agent(
    agent_id: IdPath,
    body: AgentPatch,
    scope: ChannelsScope,
    session: SessionDep,
    directory: AgentDirectoryDep,
) -> AgentOut:
    """Rename, reconfigure, move or reorder an agent. An llm's config without api_key keeps the
    one stored; a config of another agent type is a 409."""
    agent = await service.update(session, scope.tenant_id, agent_id, body)
    directory.forget()
    return agent


@router.delete("/{agent_id}", status_code=204)
async def delete_agent(
    agent_id: IdPath, scope: ChannelsScope, session: SessionDep, directory: AgentDirectoryDep
) -> Response:
    """Delete an agent: its channels no longer ask it."""
    await service.delete(session, scope.tenant_id, agent_id)
    directory.forget()
    return Response(status_code=204)
