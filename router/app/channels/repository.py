from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.channels.models import Channel, ChannelType
from app.conversations.models import Conversation
from app.core.clock import utcnow
from app.core.db import conflict_insert


async def get(session: AsyncSession, tenant_id: int, channel_id: int) -> Channel | None:
    channel: Channel | None = await session.scalar(
        select(Channel).where(Channel.tenant_id == tenant_id, Channel.id == channel_id)
    )
    return channel


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> list[Channel]:
    query = select(Channel).where(Channel.tenant_id == tenant_id).order_by(Channel.id).limit(limit)
    if after_id is not None:
        query = query.where(Channel.id > after_id)
    return list((await session.scalars(query)).all())


async def number_taken(session: AsyncSession, phone_number_id: str) -> bool:
    """Whether any tenant has this number: a number belongs to one channel on the platform."""
    return bool(
        await session.scalar(select(exists().where(Channel.phone_number_id == phone_number_id)))
    )


async def has_conversations(session: AsyncSession, channel_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Conversation.channel_id == channel_id))))


@dataclass(frozen=True, slots=True)
class NumberRoute:
    """What the message path needs of a number's channel: plain data, to cache per number."""

    channel_id: int
    tenant_id: int
    # None: send with the env's WHATSAPP_ACCESS_TOKEN. Kept out of the repr: never in a log line.
    access_token: str | None = field(repr=False)
    waba_id: str | None = None
    display_phone_number: str | None = None
    debounce_ms: int | None = None  # burst debounce (app/routing/turns.py); None or 0: off


_c = Channel.__table__.c
_ROUTES = select(
    _c.phone_number_id,
    _c.id,
    _c.tenant_id,
    _c.access_token,
    _c.waba_id,
    _c.display_phone_number,
    _c.debounce_ms,
).where(_c.phone_number_id.in_(bindparam("b_numbers", expanding=True)))
_LEARN = (
    update(Channel)
    .where(_c.id == bindparam("b_id"))
    .values(
        waba_id=func.coalesce(_c.waba_id, bindparam("b_waba_id")),
        display_phone_number=func.coalesce(_c.display_phone_number, bindparam("b_display")),
        updated_at=bindparam("b_now"),
    )
)


async def routes_of(
    connection: AsyncConnection, phone_number_ids: Iterable[str]
) -> dict[str, NumberRoute]:
    """The channels of these numbers, by number; an unknown number is left out."""
    rows = await connection.execute(_ROUTES, {"b_numbers": sorted(set(phone_number_ids))})
    return {number: NumberRoute(*rest) for number, *rest in rows.all()}


async def learn(
    connection: AsyncConnection,
    learned: Sequence[tuple[int, str | None, str | None]],
    now: datetime,
) -> None:
    """Fill in channels' WABA id and display number, (channel id, waba id, display number), where
    they have none: a webhook names both, a channel may have been made without them."""
    await connection.execute(
        _LEARN,
        [
            {"b_id": channel_id, "b_waba_id": waba_id, "b_display": display, "b_now": now}
            for channel_id, waba_id, display in learned
        ],
    )


async def upsert_number(
    connection: AsyncConnection, tenant_id: int, phone_number_id: str, access_token: str
) -> int | None:
    """The number as a WhatsApp channel of the tenant; when it exists (in any tenant), its token.
    Returns the new channel's id, or None when the number was a channel already.

    Single statements on the unique phone_number_id, so routers starting together agree: one of
    them makes the channel, the others find it."""
    now = utcnow()
    made: int | None = await connection.scalar(
        conflict_insert(connection.dialect.name, Channel)
        .values(
            tenant_id=tenant_id,
            type=ChannelType.WHATSAPP.value,
            name=phone_number_id,
            phone_number_id=phone_number_id,
            access_token=access_token,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["phone_number_id"])
        .returning(Channel.id)
    )
    if made is None:
        await connection.execute(
            update(Channel)
            .where(_c.phone_number_id == phone_number_id)
            .values(access_token=access_token, updated_at=now)
        )
    return made
