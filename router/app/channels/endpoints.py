"""`/api/v1/channels`: the tenant's WhatsApp numbers (admins write, every role reads)."""

from fastapi import APIRouter, Response

from app.auth.principal import ChannelsScope, ReadScope
from app.channels import service
from app.channels.schemas import ChannelIn, ChannelOut, ChannelPatch
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, UpstreamFailed, answers, declared
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.lifespan import ChannelDirectoryDep, GraphNumbersDep

# The message path keeps each number's channel in memory: a write here is seen at once.

router = APIRouter(prefix="/api/v1/channels", tags=["channels"], responses=answers(NotFound))


@router.get("")
async def list_channels(
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[ChannelOut]:
    """The tenant's channels, oldest first."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict, UpstreamFailed))
async def create_channel(
    body: ChannelIn,
    scope: ChannelsScope,
    session: SessionDep,
    graph: GraphNumbersDep,
    directory: ChannelDirectoryDep,
) -> ChannelOut:
    """Add a WhatsApp number (its token is checked with the Graph API first) or an api channel.

    409 when the number is already a channel; 422 when the token cannot use the number."""
    channel = await service.create(session, scope.tenant_id, body, graph)
    directory.forget()
    return ChannelOut.model_validate(channel)


@router.get("/{channel_id}")
async def get_channel(channel_id: IdPath, scope: ReadScope, session: SessionDep) -> ChannelOut:
    """One channel (never its token)."""
    return ChannelOut.model_validate(await service.get(session, scope.tenant_id, channel_id))


@router.patch("/{channel_id}", responses=declared(UnreadableBody, Conflict, UpstreamFailed))
async def update_channel(
    channel_id: IdPath,
    body: ChannelPatch,
    scope: ChannelsScope,
    session: SessionDep,
    graph: GraphNumbersDep,
    directory: ChannelDirectoryDep,
) -> ChannelOut:
    """Rename a channel, or give it a new token (checked with the Graph API first)."""
    channel = await service.update(session, scope.tenant_id, channel_id, body, graph)
    directory.forget()
    return ChannelOut.model_validate(channel)


@router.delete("/{channel_id}", status_code=204, responses=declared(Conflict))
async def delete_channel(
    channel_id: IdPath, scope: ChannelsScope, session: SessionDep, directory: ChannelDirectoryDep
) -> Response:
    """Delete a channel that has no conversations."""
    await service.delete(session, scope.tenant_id, channel_id)
    directory.forget()
    return Response(status_code=204)
