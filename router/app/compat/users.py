"""The multi-number platform's `users/me` paths: its user is our member, its device our channel
(a WhatsApp number). Mounted on the members domain's service; nothing here decides anything."""

from fastapi import APIRouter, Response

from app.auth.principal import ChannelsScope, ReadScope
from app.channels.schemas import ChannelOut
from app.core.db import SessionDep
from app.core.errors import NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.core.pagination import Page
from app.members import service
from app.members.endpoints import ALREADY_ON
from app.members.schemas import MemberChannelIn, UserOut

router = APIRouter(prefix="/api/v1/users/me", tags=["users"], responses=answers(NotFound))


@router.get("")
async def get_user(scope: ReadScope, session: SessionDep) -> UserOut:
    """The signed-in member (`id` is the member's id); 404 for a key acting as no member."""
    member = await service.signed_in(session, scope)
    return UserOut.model_validate(member)


@router.get("/devices")
async def list_devices(scope: ReadScope, session: SessionDep) -> Page[ChannelOut]:
    """The numbers (channels) the signed-in member is on, all in one page."""
    member = await service.signed_in(session, scope)
    found = await service.channels_of(session, scope.tenant_id, member.id)
    return Page(items=[ChannelOut.model_validate(c) for c in found])


@router.post("/devices", status_code=201, responses={**ALREADY_ON, **declared(UnreadableBody)})
async def add_device(
    body: MemberChannelIn, scope: ChannelsScope, session: SessionDep, response: Response
) -> ChannelOut:
    """Put the signed-in owner or admin on one of the tenant's numbers: 201, or 200 when they
    were on it already."""
    member = await service.signed_in(session, scope)
    channel, added = await service.add_channel(session, scope.tenant_id, member.id, body.channel_id)
    if not added:
        response.status_code = 200
    return ChannelOut.model_validate(channel)


@router.delete("/devices/{channel_id}", status_code=204)
async def remove_device(channel_id: IdPath, scope: ChannelsScope, session: SessionDep) -> Response:
    """Take the signed-in owner or admin off the number (204 also when they were not on it)."""
    member = await service.signed_in(session, scope)
    await service.remove_channel(session, scope.tenant_id, member.id, channel_id)
    return Response(status_code=204)
