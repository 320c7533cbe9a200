from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation, ConversationRead, ConversationStatus
from app.core.clock import utcnow
from app.core.db import chunked, conflict_insert
from app.members.models import Member
from app.messages.models import Message

OPEN = ConversationStatus.OPEN.value


@dataclass(frozen=True, slots=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact
    owner: Member | None


@dataclass(frozen=True, slots=True)
class Filters:
    status: ConversationStatus | None = None
    owner: str | int | None = None  # "ai", "agent" or a member id
    channel_id: int | None = None
    contact_id: int | None = None


def _rows(
    tenant_id: int, channel_ids: frozenset[int] | None
) -> Select[Conversation, Contact, Member]:
    """The tenant's conversations the caller sees: on `channel_ids` only, unless None (every
    number). Every read of conversations for a caller starts here."""
    query = (
        select(Conversation, Contact, Member)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Member, Member.id == Conversation.owner_member_id)
        .where(Conversation.tenant_id == tenant_id)
    )
    if channel_ids is not None:
        query = query.where(Conversation.channel_id.in_(sorted(channel_ids)))
    return query


async def get(
    session: AsyncSession,
    tenant_id: int,
    conversation_id: int,
    channel_ids: frozenset[int] | None = None,
) -> ConversationRow | None:
    query = _rows(tenant_id, channel_ids).where(Conversation.id == conversation_id)
    found = (await session.execute(query)).first()
    return ConversationRow(*found) if found else None


async def page(
    session: AsyncSession,
    tenant_id: int,
    filters: Filters,
    after: tuple[datetime, int] | None,
    limit: int,
    channel_ids: frozenset[int] | None = None,
) -> list[ConversationRow]:
    """Newest activity first."""
    c = Conversation
    query = (
        _rows(tenant_id, channel_ids).order_by(c.last_message_at.desc(), c.id.desc()).limit(limit)
    )
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
    return [ConversationRow(*found) for found in (await session.execute(query)).all()]


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


async def mark_read(session: AsyncSession, conversation: Conversation, member_id: int) -> int:
    """The member has read the conversation up to its newest message, whose id (0 for none) is
    returned. A mark never moves backwards (two tabs reading at once)."""
    newest = await session.scalar(
        select(func.coalesce(func.max(Message.id), 0)).where(
            Message.conversation_id == conversation.id
        )
    )
    upto = int(newest or 0)
    dialect = (await session.connection()).dialect.name
    insert = conflict_insert(dialect, ConversationRead).values(
        conversation_id=conversation.id,
        member_id=member_id,
        last_read_message_id=upto,
        read_at=utcnow(),
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["conversation_id", "member_id"],
            set_={"last_read_message_id": upto, "read_at": insert.excluded.read_at},
            where=ConversationRead.last_read_message_id < upto,
        )
    )
    await session.commit()
    return upto


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
    opened: bool = False  # opened by this call


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message of a contact on a channel: `inbound` when the contact wrote it (it moves the
    24-hour window), not for a reply or a system notice."""

    tenant_id: int
    channel_id: int
    contact_id: int
    inbound: bool = True

    @property
    def key(self) -> tuple[int, int]:
        return self.channel_id, self.contact_id


_c = Conversation.__table__.c
_FIND = select(_c.id, _c.channel_id, _c.contact_id, _c.owner_member_id).where(
    _c.contact_id.in_(bindparam("b_contacts", expanding=True)), _c.status == OPEN
)
_ACTIVE = (
    update(Conversation)
    .where(_c.id.in_(bindparam("b_ids", expanding=True)))
    .values(last_message_at=bindparam("b_at"), updated_at=bindparam("b_at"))
)
_WRITTEN_TO = (
    update(Conversation)
    .where(_c.id.in_(bindparam("b_ids", expanding=True)))
    .values(
        last_message_at=bindparam("b_at"),
        last_inbound_at=bindparam("b_at"),
        updated_at=bindparam("b_at"),
    )
)


def _insert(dialect_name: str) -> Any:
    # Two first messages at once: the partial unique index lets one in; the other finds it.
    return (
        conflict_insert(dialect_name, Conversation)
        .on_conflict_do_nothing(
            # Spelled out: a bound value here would rule out inserting many rows at once.
            index_elements=["channel_id", "contact_id"],
            index_where=text(f"status = '{OPEN}'"),
        )
        .returning(_c.id, _c.channel_id, _c.contact_id)
    )


_INSERTS = {name: _insert(name) for name in ("sqlite", "postgresql")}


async def continue_or_open_many(
    connection: AsyncConnection,
    arrivals: Sequence[Arrival],
    *,
    at: datetime,
    new_contacts: frozenset[int] = frozenset(),
) -> dict[tuple[int, int], ConversationRoute]:
    """Each contact's open conversation on the channel, or a new one owned by the bot, by
    (channel id, contact id); its activity (and, for the contact's own message, its 24-hour
    window) moves to `at`. A handful of statements for any number of arrivals; contacts made in
    this transaction (`new_contacts`) have no conversation to look for."""
    wanted = {a.key: a for a in arrivals}
    written_to = {key: False for key in wanted}
    for a in arrivals:
        written_to[a.key] |= a.inbound
    routes: dict[tuple[int, int], ConversationRoute] = {}
    moved: dict[bool, list[int]] = {True: [], False: []}
    opened: set[tuple[int, int]] = set()
    look = {k for k in wanted if k[1] not in new_contacts}
    for _ in range(3):
        for contacts in chunked(sorted({contact for _, contact in look})):
            found = await connection.execute(_FIND, {"b_contacts": contacts})
            for row in found.all():
                key = (row.channel_id, row.contact_id)
                if key in look and key not in routes:
                    routes[key] = ConversationRoute(row.id, row.owner_member_id)
                    moved[written_to[key]].append(row.id)
        missing = [a for k, a in wanted.items() if k not in routes]
        if not missing:
            break
        inserted = await connection.execute(
            _INSERTS[connection.dialect.name],
            [
                {
                    "tenant_id": a.tenant_id,
                    "channel_id": a.channel_id,
                    "contact_id": a.contact_id,
                    "status": OPEN,
                    "owner_member_id": None,
                    "last_message_at": at,
                    "last_inbound_at": at if written_to[a.key] else None,
                    "created_at": at,
                    "updated_at": at,
                }
                # In one order everywhere: concurrent rounds wait, they do not deadlock.
                for a in sorted(missing, key=lambda a: a.key)
            ],
        )
        for row in inserted.all():
            key = (row.channel_id, row.contact_id)
            routes[key] = ConversationRoute(row.id, None, opened=True)
            opened.add(key)
        look = {a.key for a in missing if a.key not in routes}
    for inbound, ids in moved.items():
        for some in chunked(sorted(ids)):
            await connection.execute(
                _WRITTEN_TO if inbound else _ACTIVE, {"b_ids": some, "b_at": at}
            )
    if len(routes) < len(wanted):
        raise RuntimeError("a conversation was neither found nor opened")
    return routes


async def touch(connection: AsyncConnection, conversation_ids: Sequence[int], at: datetime) -> None:
    """A reply or a member's message was added: the conversations' activity moves to `at` (their
    24-hour windows do not: only the contact's own messages open them)."""
    for some in chunked(sorted(set(conversation_ids))):
        await connection.execute(_ACTIVE, {"b_ids": some, "b_at": at})


async def continue_or_open(
    connection: AsyncConnection,
    tenant_id: int,
    channel_id: int,
    contact_id: int,
    *,
    at: datetime,
    inbound: bool,
) -> ConversationRoute:
    """The contact's open conversation on the channel, or a new one owned by the bot (see
    `continue_or_open_many`)."""
    arrival = Arrival(tenant_id, channel_id, contact_id, inbound)
    return (await continue_or_open_many(connection, [arrival], at=at))[arrival.key]
