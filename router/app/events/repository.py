"""The events table: written beside the change an event describes, read by the streams.

Event ids must become visible in the order they increase. A subscriber that has seen id 12 and
reconnects asks for what follows 12; were id 11 committed after 12 (PostgreSQL hands sequence
values out at insert, and two processes' transactions commit in any order), it would never be
replayed. So on PostgreSQL a transaction takes one advisory lock (held until it commits) just before
it inserts its events: whoever takes the next ids commits before anyone else takes any, and ids
commit in order. The insert is the last statement of the transaction, so the lock is held for a
commit's time only, and never while waiting for a row lock (no deadlock). SQLite has one writer at a
time, which gives the same order by itself.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import BindParameter, Select, bindparam, delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.db import chunked
from app.events.models import EventRow
from app.members.models import Member
from app.messages.models import Message

# Any constant of our own: the key of the one lock that orders event ids.
EVENTS_LOCK = 0x6576656E7473  # "events"


@dataclass(frozen=True, slots=True)
class Change:
    """An event to store: what happened (`type`) to which object of which tenant."""

    tenant_id: int
    type: str
    object_id: int


async def record(connection: AsyncConnection, changes: Sequence[Change], at: datetime) -> None:
    """Insert `changes` as events, in the caller's transaction. Call it last before the commit."""
    if not changes:
        return
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})
    await connection.execute(
        insert(EventRow),
        [
            {"tenant_id": c.tenant_id, "type": c.type, "object_id": c.object_id, "at": at}
            for c in changes
        ],
    )


# Where the tenant of an event's object is read, by the event's type.
_SOURCES: dict[str, Any] = {
    "conversation.created": Conversation.__table__,
    "message.created": Message.__table__,
    "message.status": Message.__table__,
    "conversation.updated": Conversation.__table__,
    "contact.updated": Contact.__table__,
}
# Within one transaction, in this order: a conversation before its first message, a message
# before its status.
TYPE_ORDER = tuple(_SOURCES)


async def record_objects(
    connection: AsyncConnection, objects: dict[str, list[int]], at: datetime
) -> None:
    """Insert an event per object id, by type, its tenant read from the object's row in the same
    statement (objects of no tenant, such as a message to an unknown number, have none). For the
    message path, which knows its rows' ids; last before the commit, as `record`."""
    if not any(objects.values()):
        return
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})
    for type_ in TYPE_ORDER:
        ids = sorted(set(objects.get(type_, ())))
        table = _SOURCES[type_]
        for part in chunked(ids):
            source = (
                select(table.c.tenant_id, literal(type_), table.c.id, literal(at))
                .where(table.c.id.in_(part), table.c.tenant_id.is_not(None))
                .order_by(table.c.id)
            )
            await connection.execute(
                insert(EventRow).from_select(["tenant_id", "type", "object_id", "at"], source)
            )


async def newest_id(connection: AsyncConnection) -> int:
    return int(await connection.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0)


class StoredEvent(Protocol):
    """An event's row as read (a plain row: a busy stream reads thousands)."""

    id: int
    tenant_id: int
    type: str
    object_id: int
    at: datetime


_e = EventRow.__table__.c
# The streams' reads, built once: a busy reader runs them many times a second, and a statement
# built anew is built, and its cache key made, each time.
_AFTER = (
    select(_e.id, _e.tenant_id, _e.type, _e.object_id, _e.at)
    .where(_e.id > bindparam("last_id"))
    .order_by(_e.id)
    .limit(bindparam("limit"))
)
_AFTER_OF_TENANT = _AFTER.where(_e.tenant_id == bindparam("tenant_id"))


async def after(
    connection: AsyncConnection, last_id: int, limit: int, tenant_id: int | None = None
) -> list[StoredEvent]:
    """Events after `last_id`, oldest first (of one tenant, or of all)."""
    params = {"last_id": last_id, "limit": limit}
    if tenant_id is None:
        result = await connection.execute(_AFTER, params)
    else:
        result = await connection.execute(_AFTER_OF_TENANT, params | {"tenant_id": tenant_id})
    return cast(list[StoredEvent], list(result.all()))


async def prune(connection: AsyncConnection, before: datetime, limit: int) -> int:
    """Delete up to `limit` events older than `before` (a batch: a long delete would hold up the
    message path's writes on SQLite)."""
    ids = select(EventRow.id).where(EventRow.at < before).limit(limit)
    result: Any = await connection.execute(delete(EventRow).where(EventRow.id.in_(ids)))
    return int(result.rowcount or 0)


# What a message event shows (app/events/encoding.py): read as plain rows, not ORM
# objects, which a busy stream would build by the thousand.
_MESSAGE_COLUMNS = (
    Message.id,
    Message.channel_id,
    Message.conversation_id,
    Message.direction,
    Message.sender,
    Message.type,
    Message.text,
    Message.template,
    Message.status,
    Message.error_code,
    Message.error_title,
    Message.wamid,
    Message.agent_id,
    Message.ignored_by_rule_id,
    Message.attachment,
    Message.created_at,
    Message.updated_at,
    Contact.id.label("contact_key"),
    Contact.name.label("contact_name"),
    Member.id.label("author_id"),
    Member.name.label("author_name"),
)


_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)


async def _rows_by_id(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], ids: Sequence[int]
) -> dict[int, Any]:
    """`statement`'s rows for `ids` (its `ids` parameter), by their `id`: read on the session's
    connection with Core, not the ORM's execution (plain rows in, plain rows out)."""
    found: dict[int, Any] = {}
    connection = await session.connection()
    for part in chunked(list(ids)):
        for row in (await connection.execute(statement, {"ids": part})).all():
            found[row.id] = row
    return found


_MESSAGES = (
    select(*_MESSAGE_COLUMNS)
    .outerjoin(Member, Member.id == Message.author_member_id)
    .outerjoin(Contact, Contact.id == Message.contact_id)
    .where(Message.id.in_(_IDS))
)


async def message_rows(session: AsyncSession, ids: Sequence[int]) -> dict[int, Any]:
    """The messages of `ids` with their contact's and author's id and name, by id."""
    return await _rows_by_id(session, _MESSAGES, ids)


_CONVERSATION_COLUMNS = (
    Conversation.id,
    Conversation.tenant_id,
    Conversation.status,
    Conversation.channel_id,
    Conversation.last_message_at,
    Conversation.last_inbound_at,
    Conversation.created_at,
    Conversation.updated_at,
    Contact.id.label("contact_key"),
    Contact.wa_id.label("contact_wa_id"),
    Contact.user_id.label("contact_user_id"),
    Contact.name.label("contact_name"),
    Member.id.label("owner_id"),
    Member.name.label("owner_name"),
    Channel.type.label("channel_type"),
    Channel.name.label("channel_name"),
    Channel.phone_number_id.label("channel_phone_number_id"),
    Channel.display_phone_number.label("channel_display_phone_number"),
)


_CONVERSATIONS = (
    select(*_CONVERSATION_COLUMNS)
    .join(Contact, Contact.id == Conversation.contact_id)
    .join(Channel, Channel.id == Conversation.channel_id)
    .outerjoin(Member, Member.id == Conversation.owner_member_id)
    .where(Conversation.id.in_(_IDS))
)


async def conversation_rows(session: AsyncSession, ids: Sequence[int]) -> dict[int, Any]:
    """The conversations of `ids` with their contact, owner and channel (ConversationOut's
    fields), as plain rows, by id."""
    return await _rows_by_id(session, _CONVERSATIONS, ids)


async def contacts(session: AsyncSession, ids: Sequence[int]) -> dict[int, Contact]:
    found: dict[int, Contact] = {}
    for part in chunked(list(ids)):
        for contact in (await session.scalars(select(Contact).where(Contact.id.in_(part)))).all():
            found[contact.id] = contact
    return found
