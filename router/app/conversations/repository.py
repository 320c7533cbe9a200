from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation, ConversationStatus
from app.core.db import conflict_insert
from app.members.models import Member

OPEN = ConversationStatus.OPEN.value


@dataclass(frozen=True, slots=True)
class Row:
    conversation: Conversation
    contact: Contact
    owner: Member | None


@dataclass(frozen=True, slots=True)
class Filters:
    status: ConversationStatus | None = None
    owner: str | int | None = None  # "ai", "agent" or a member id
    channel_id: int | None = None
    contact_id: int | None = None


def _rows(tenant_id: int) -> Select[Conversation, Contact, Member]:
    return (
        select(Conversation, Contact, Member)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Member, Member.id == Conversation.owner_member_id)
        .where(Conversation.tenant_id == tenant_id)
    )


async def get(session: AsyncSession, tenant_id: int, conversation_id: int) -> Row | None:
    found = (
        await session.execute(_rows(tenant_id).where(Conversation.id == conversation_id))
    ).first()
    return Row(*found) if found else None


async def page(
    session: AsyncSession,
    tenant_id: int,
    filters: Filters,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row]:
    """Newest activity first."""
    c = Conversation
    query = _rows(tenant_id).order_by(c.last_message_at.desc(), c.id.desc()).limit(limit)
    if filters.status is not None:
        query = query.where(c.status == filters.status.value)
    if filters.owner == "ai":
        query = query.where(c.owner_member_id.is_(None))
    elif filters.owner == "agent":
        query = query.where(c.owner_member_id.is_not(None))
    elif isinstance(filters.owner, int):
        query = query.where(c.owner_member_id == filters.owner)
    if filters.channel_id is not None:
        query = query.where(c.channel_id == filters.channel_id)
    if filters.contact_id is not None:
        query = query.where(c.contact_id == filters.contact_id)
    if after is not None:
        at, id_ = after
        query = query.where(or_(c.last_message_at < at, and_(c.last_message_at == at, c.id < id_)))
    return [Row(*found) for found in (await session.execute(query)).all()]


async def channel_of(session: AsyncSession, conversation: Conversation) -> Channel:
    channel: Channel | None = await session.get(Channel, conversation.channel_id)
    assert channel is not None  # a foreign key
    return channel


async def has_other_open(session: AsyncSession, conversation: Conversation) -> bool:
    other = await session.scalar(
        select(Conversation.id).where(
            Conversation.channel_id == conversation.channel_id,
            Conversation.contact_id == conversation.contact_id,
            Conversation.status == OPEN,
            Conversation.id != conversation.id,
        )
    )
    return other is not None


async def hand_back_all(
    session: AsyncSession, tenant_id: int, member_id: int, now: datetime
) -> None:
    """Every conversation the member owns goes back to the bot."""
    await session.execute(
        update(Conversation)
        .where(Conversation.tenant_id == tenant_id, Conversation.owner_member_id == member_id)
        .values(owner_member_id=None, updated_at=now)
    )


# --- the message path (for routing) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationRoute:
    conversation_id: int
    owner_member_id: int | None  # None: the bot answers


async def continue_or_open(
    connection: AsyncConnection,
    tenant_id: int,
    channel_id: int,
    contact_id: int,
    *,
    at: datetime,
    inbound: bool,
) -> ConversationRoute:
    """The contact's open conversation on the channel, or a new one owned by the bot; its
    activity (and, for the contact's own message, its 24-hour window) moves to `at`."""
    c = Conversation.__table__.c
    find = select(c.id, c.owner_member_id).where(
        c.channel_id == channel_id, c.contact_id == contact_id, c.status == OPEN
    )
    found = (await connection.execute(find)).first()
    if found is None:
        # Two first messages at once: the partial unique index lets one insert; both then find it.
        await connection.execute(
            conflict_insert(connection.dialect.name, Conversation)
            .values(
                tenant_id=tenant_id,
                channel_id=channel_id,
                contact_id=contact_id,
                status=OPEN,
                owner_member_id=None,
                last_message_at=at,
                last_inbound_at=at if inbound else None,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(
                index_elements=["channel_id", "contact_id"], index_where=c.status == OPEN
            )
        )
        found = (await connection.execute(find)).first()
        assert found is not None
    activity: dict[str, Any] = {"last_message_at": at, "updated_at": at}
    if inbound:
        activity["last_inbound_at"] = at
    await connection.execute(update(Conversation).where(c.id == found.id).values(**activity))
    return ConversationRoute(found.id, found.owner_member_id)
