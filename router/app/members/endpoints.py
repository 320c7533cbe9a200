"""`/api/v1/members`: the tenant's people and their roles (owners write; every role reads, so
that agents can transfer a conversation to a colleague)."""

from typing import Any

from fastapi import APIRouter, Response

from app.auth.principal import AccessScope, ChannelsScope, ReadScope
from app.channels.schemas import ChannelOut
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.members import service
from app.members.schemas import MemberChannelIn, MemberIn, MemberOut, MemberPatch

router = APIRouter(prefix="/api/v1/members", tags=["members"], responses=answers(NotFound))


@router.get("")
async def list_members(
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[MemberOut]:
    """The tenant's members, oldest first."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict))
async def create_member(body: MemberIn, scope: AccessScope, session: SessionDep) -> MemberOut:
    """Add a member (invite them by email or by their identity provider's subject)."""
    return MemberOut.model_validate(await service.create(session, scope.tenant_id, body))


@router.patch("/{member_id}", responses=declared(UnreadableBody, Conflict))
async def update_member(
    member_id: IdPath, body: MemberPatch, scope: AccessScope, session: SessionDep
) -> MemberOut:
    """Change a member's name, role, email or subject; the last owner stays an owner."""
    member = await service.update(session, scope.tenant_id, member_id, body)
    return MemberOut.model_validate(member)


@router.delete("/{member_id}", status_code=204, responses=declared(Conflict))
async def delete_member(member_id: IdPath, scope: AccessScope, session: SessionDep) -> Response:
    """Remove a member: their conversations go back to the bot and their keys stop working."""
    await service.delete(session, scope.tenant_id, member_id)
    return Response(status_code=204)


@router.get("/{member_id}/channels")
async def list_member_channels(
    member_id: IdPath, scope: ChannelsScope, session: SessionDep
) -> Page[ChannelOut]:
    """The numbers (channels) the member is on, all in one page. An agent or viewer on at least
    one sees only their conversations; on none, every number's."""
    found = await service.channels_of(session, scope.tenant_id, member_id)
    return Page(items=[ChannelOut.model_validate(c) for c in found])


ALREADY_ON: dict[int | str, dict[str, Any]] = {
    200: {"model": ChannelOut, "description": "the member was on it already"}
}


@router.post(
    "/{member_id}/channels",
    status_code=201,
    responses={**ALREADY_ON, **declared(UnreadableBody)},
)
async def add_member_channel(
    member_id: IdPath,
    body: MemberChannelIn,
    scope: ChannelsScope,
    session: SessionDep,
    response: Response,
) -> ChannelOut:
    """Put the member on one of the tenant's numbers: 201, or 200 when they were on it already."""
    channel, added = await service.add_channel(session, scope.tenant_id, member_id, body.channel_id)
    if not added:
        response.status_code = 200
    return ChannelOut.model_validate(channel)


@router.delete("/{member_id}/channels/{channel_id}", status_code=204)
async def remove_member_channel(
    member_id: IdPath, channel_id: IdPath, scope: ChannelsScope, session: SessionDep
) -> Response:
    """Take the member off the number (204 also when they were not on it)."""
    await service.remove_channel(session, scope.tenant_id, member_id, channel_id)
    return Response(status_code=204)
