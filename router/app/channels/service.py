"""Channels: a number is saved only once the Graph API says its token may use it."""

from pydantic import MISSING
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.repository import add_default_agent
from app.channels import repository
from app.channels.graph import GraphNumbers
from app.channels.models import Channel, ChannelType
from app.channels.schemas import ApiChannelIn, ChannelOut, ChannelPatch, WhatsAppChannelIn
from app.core.db import commit_or_conflict
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of


def _taken(phone_number_id: str) -> str:
    return f"phone_number_id {phone_number_id} is already a channel"


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> tuple[list[ChannelOut], str | None]:
    rows = await repository.page(session, tenant_id, after_id, limit + 1)
    items, cursor = page_of(rows, limit, lambda c: c.id)
    return [ChannelOut.model_validate(c) for c in items], cursor


async def get(session: AsyncSession, tenant_id: int, channel_id: int) -> Channel:
    channel = await repository.get(session, tenant_id, channel_id)
    if channel is None:
        raise NotFound(f"no channel {channel_id}")
    return channel


async def create(
    session: AsyncSession,
    tenant_id: int,
    body: WhatsAppChannelIn | ApiChannelIn,
    graph: GraphNumbers,
) -> Channel:
    if isinstance(body, ApiChannelIn):
        channel = Channel(tenant_id=tenant_id, type=ChannelType.API.value, name=body.name)
    else:
        if await repository.number_taken(session, body.phone_number_id):
            raise Conflict(_taken(body.phone_number_id))
        number = await graph.check(body.phone_number_id, body.access_token)
        channel = Channel(
            tenant_id=tenant_id,
            type=ChannelType.WHATSAPP.value,
            name=body.name,
            phone_number_id=body.phone_number_id,
            display_phone_number=body.display_phone_number or number.display_phone_number,
            waba_id=body.waba_id,
            access_token=body.access_token.get_secret_value(),
            debounce_ms=body.debounce_ms,
        )
    await save_new(session, channel, _taken(channel.phone_number_id or ""))
    return channel


async def save_new(session: AsyncSession, channel: Channel, conflict: str) -> None:
    """Save a new channel with the agent every channel starts with (the Server, priority 100),
    in one transaction; a number a concurrent request took first is a 409 saying `conflict`."""
    session.add(channel)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(conflict) from None
    await add_default_agent(await session.connection(), channel.tenant_id, channel.id)
    await commit_or_conflict(session, conflict)


async def update(
    session: AsyncSession,
    tenant_id: int,
    channel_id: int,
    body: ChannelPatch,
    graph: GraphNumbers,
) -> Channel:
    channel = await get(session, tenant_id, channel_id)
    changes = body.model_dump(exclude_unset=True, exclude={"access_token"})
    # What a channel of the other type would take is a conflict with this one's type: the body
    # alone is valid.
    if channel.type == ChannelType.API.value and set(changes) - {"name"}:
        raise Conflict(f"channel {channel.id} is an api channel: it has a name only")
    if body.access_token is not MISSING:
        if channel.phone_number_id is None:
            raise Conflict(f"access_token: channel {channel.id} is an api channel, without one")
        await graph.check(channel.phone_number_id, body.access_token)
        channel.access_token = body.access_token.get_secret_value()
    for field, value in changes.items():
        setattr(channel, field, value)
    await session.commit()
    return channel


async def delete(session: AsyncSession, tenant_id: int, channel_id: int) -> None:
    channel = await get(session, tenant_id, channel_id)
    if await repository.has_conversations(session, channel.id):
        raise Conflict(
            f"channel {channel.id} has conversations: deleting it would lose their history"
        )
    await session.delete(channel)
    await commit_or_conflict(session, f"channel {channel.id} has messages")
