"""Events as subscribers receive them: a stored row (what happened to which object) read with the
object as the API returns it. Only rows of objects still stored are sent."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.contacts.schemas import ContactOut
from app.core.clock import utcnow
from app.core.schemas import with_offset
from app.events import repository
from app.events.encoding import conversation_json, message_json
from app.events.repository import Change, StoredEvent
from app.events.schemas import EventType

MESSAGE_TYPES = frozenset({EventType.MESSAGE_CREATED.value, EventType.MESSAGE_STATUS.value})
CONVERSATION_TYPES = frozenset(
    {EventType.CONVERSATION_CREATED.value, EventType.CONVERSATION_UPDATED.value}
)

_SOURCE = {t: "message" for t in MESSAGE_TYPES} | {t: "conversation" for t in CONVERSATION_TYPES}
_SOURCE[EventType.CONTACT_UPDATED.value] = "contact"

# A session that stored events says so here; its commit wakes the streams (see `_committed`).
HUB_KEY = "event_hub"
_WROTE = "events_written"


@dataclass(frozen=True, slots=True)
class Delivered:
    """An event ready to send: `json` is the Event, encoded once for every subscriber."""

    id: int
    tenant_id: int
    type: str
    json: str
    # The number (channel) of the event's conversation or message, for the callers who see only
    # some numbers; None for an event of no number (a contact's, the tenant's).
    channel_id: int | None = None


async def record(session: AsyncSession, *changes: Change) -> None:
    """Store `changes` in the session's transaction; its commit then wakes the streams. Call it
    last before the commit: the session's changes are flushed first, so that the lock that
    orders event ids is never held while a row lock is waited for (app/events/repository.py)."""
    await session.flush()
    await repository.record(await session.connection(), changes, utcnow())
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        hub = session.info.get(HUB_KEY)
        if hub is not None:
            hub.committed()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE, None)


async def materialize(session: AsyncSession, rows: Sequence[StoredEvent]) -> list[Delivered]:
    messages = await repository.message_rows(
        session, list({r.object_id for r in rows if r.type in MESSAGE_TYPES})
    )
    conversations = await repository.conversation_rows(
        session, list({r.object_id for r in rows if r.type in CONVERSATION_TYPES})
    )
    contacts = await repository.contacts(
        session, list({r.object_id for r in rows if r.type == EventType.CONTACT_UPDATED.value})
    )

    def channel_of(row: StoredEvent) -> int | None:
        source = messages if row.type in MESSAGE_TYPES else conversations
        found = source.get(row.object_id) if row.type != EventType.CONTACT_UPDATED.value else None
        return None if found is None else found.channel_id

    def data_json(row: StoredEvent) -> str | None:
        if row.type in MESSAGE_TYPES:
            found = messages.get(row.object_id)
            if found is None or found.contact_key is None:
                return None  # a message outside any contact's conversation: not for the inbox
            return message_json(found)
        if row.type in CONVERSATION_TYPES:
            if (c := conversations.get(row.object_id)) is None:
                return None
            return conversation_json(c)
        if (person := contacts.get(row.object_id)) is None:
            return None
        return ContactOut.model_validate(person).model_dump_json()

    # An object is read once per batch whatever its events (a message's creation and its first
    # statuses come together): its JSON is made once, each event's envelope around it.
    encoded: dict[tuple[str, int], str | None] = {}
    times: dict[datetime, str] = {}  # the events of one round share their `at`
    delivered = []
    for row in rows:
        key = (_SOURCE[row.type], row.object_id)
        if key not in encoded:
            encoded[key] = data_json(row)
        if (data := encoded[key]) is None:
            continue
        if (at_json := times.get(row.at)) is None:
            at_json = times[row.at] = json.dumps(with_offset(row.at))
        delivered.append(
            Delivered(
                row.id, row.tenant_id, row.type, envelope(row, data, at_json), channel_of(row)
            )
        )
    return delivered


def envelope(row: StoredEvent, data_json: str, at_json: str | None = None) -> str:
    """`Event(...).model_dump_json()` with its `data` encoded already (tests hold them equal);
    `at_json`, the encoded `at`, when the caller has it (a round's events share theirs)."""
    at_json = at_json or json.dumps(with_offset(row.at))
    return (
        f'{{"type":"{EventType(row.type).value}","id":{row.id},"tenant_id":{row.tenant_id},'
        f'"at":{at_json},"data":{data_json}}}'
    )
