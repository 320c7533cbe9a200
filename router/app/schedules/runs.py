"""A run of a schedule: claimed in the store, and in the same transaction its messages stored
(one per recipient, pending) and its next run set. Sending them is then the job of each message,
on the path of a message of its own (app/routing/pipeline.py): rate limit, retries, trackers,
statuses, exactly once.

Exactly one run per due time, however many router processes poll: PostgreSQL locks the
schedule's row (`FOR UPDATE SKIP LOCKED`: another process skips it), SQLite has a single writer,
and on both the next run is written only over the due time this run read (a second process that
read it too finds it moved and stores nothing). The schedule_messages' unique key (schedule, due
time, contact) holds it once more in the store. A schedule whose runs were missed while no router
was up runs once, and its next run is the first after now, not each missed time in turn.

A run's messages (and the conversations it opened) are events like any other message's
(`message.created`, `conversation.created`), stored in the same transaction: the inbox shows a
scheduled message the moment it is stored, then its ticks.
"""

import json
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.channels.models import NO_NUMBER, Channel, ChannelType
from app.contacts.models import Contact
from app.conversations import repository as conversations
from app.conversations.models import SERVICE_WINDOW, Conversation
from app.core.clock import utcnow
from app.events.hub import EventRecorder
from app.messages.models import Direction, Message, OutboundStatus, Sender
from app.schedules import repository, timing

log = structlog.get_logger()

messages: Table = Message.__table__  # type: ignore[assignment]
# Schedules taken per poll: more wait for the next one, a second later.
BATCH = 100
# WhatsApp refuses free-form text outside the contact's 24-hour window.
TEMPLATE_NEEDED = "a template is needed"


def template_message(template: dict[str, Any]) -> dict[str, Any]:
    """The `messages` columns of a template message, as a member's template is stored
    (app/messages/service.py): the pipeline sends it with PyWA's send_template, whatever the
    24-hour window."""
    return {
        "type": "template",
        "text": None,
        "template": json.dumps(template, separators=(",", ":")),
    }


def next_run(row: Any, after: datetime) -> datetime | None:
    """When the schedule runs next, after a run at `after`: a cron schedule at its first time
    after it, a one-off never."""
    if row.cron is None:
        return None
    return timing.next_cron_run(row.cron, row.timezone, after)


async def run_due(
    engine: AsyncEngine, now: datetime | None = None, events: EventRecorder | None = None
) -> list[int]:
    """Run every due schedule (up to BATCH); return the ids of the pending messages to queue."""
    events = events or EventRecorder()
    now = now or utcnow()
    async with engine.connect() as connection:
        due = await repository.due(connection, now, BATCH)
    queued: list[int] = []
    for schedule_id in due:
        with structlog.contextvars.bound_contextvars(schedule_id=schedule_id):
            try:
                queued += await run_one(engine, schedule_id, now, events)
            except Exception:
                # Left due: the next poll tries it again.
                log.exception("schedule.run_failed")
    return queued


async def run_one(
    engine: AsyncEngine, schedule_id: int, now: datetime, events: EventRecorder
) -> list[int]:
    """One run of the schedule, if it is still due and nobody else runs it."""
    async with engine.begin() as connection:
        row = await repository.take(connection, schedule_id, now)
        if row is None:
            return []  # run by another process, cancelled, or moved meanwhile
        due_at = row.next_run_at
        if not await repository.advance(connection, schedule_id, due_at, next_run(row, now), now):
            return []
        created = await _store_messages(connection, row, due_at, now, events)
    if created:
        events.committed()
    pending = [message_id for message_id, status in created if status == OutboundStatus.PENDING]
    log.info("schedule.ran", due_at=due_at.isoformat(), messages=len(created), queued=len(pending))
    return pending


async def _store_messages(
    connection: AsyncConnection,
    schedule: Any,
    due_at: datetime,
    now: datetime,
    events: EventRecorder,
) -> list[tuple[int, str]]:
    channel = (
        await connection.execute(select(Channel.__table__).where(Channel.id == schedule.channel_id))
    ).one()
    contacts = {
        row.id: row
        for row in (
            await connection.execute(
                select(Contact.__table__).where(
                    Contact.tenant_id == schedule.tenant_id,
                    Contact.id.in_(schedule.recipients),
                )
            )
        ).all()
    }
    recipients = [contact_id for contact_id in schedule.recipients if contact_id in contacts]
    arrivals = [
        conversations.Arrival(schedule.tenant_id, channel.id, contact_id, inbound=False)
        for contact_id in recipients
    ]
    routes = await conversations.continue_or_open_many(connection, arrivals, at=now)
    windows = {
        row.id: row.last_inbound_at
        for row in (
            await connection.execute(
                select(Conversation.id, Conversation.last_inbound_at).where(
                    Conversation.id.in_([route.conversation_id for route in routes.values()])
                )
            )
        ).all()
    }
    whatsapp = channel.type == ChannelType.WHATSAPP.value
    created: list[tuple[int, str]] = []
    runs = []
    for contact_id in recipients:
        contact = contacts[contact_id]
        conversation_id = routes[(channel.id, contact_id)].conversation_id
        last_inbound = windows.get(conversation_id)
        values: dict[str, Any] = {
            "direction": Direction.OUTBOUND.value,
            "phone_number_id": channel.phone_number_id or NO_NUMBER,
            "contact": contact.wa_id or contact.user_id,
            "wa_id": contact.wa_id,
            "user_id": contact.user_id,
            "status": OutboundStatus.PENDING.value,
            "attempts": 0,
            "request_id": f"schedule-{schedule.id}",
            "created_at": now,
            "updated_at": now,
            "tenant_id": schedule.tenant_id,
            "channel_id": channel.id,
            "conversation_id": conversation_id,
            "contact_id": contact_id,
            "sender": Sender.AI.value,
        }
        if schedule.template is not None:
            values.update(template_message(schedule.template))
        else:
            values.update(type="text", text=schedule.text)
            window_open = last_inbound is not None and last_inbound + SERVICE_WINDOW > now
            if whatsapp and not window_open:
                # Refused before sending, as a member's text would be: kept, visible, failed.
                values.update(status=OutboundStatus.FAILED.value, error_title=TEMPLATE_NEEDED)
        message_id = (
            await connection.execute(insert(messages).returning(messages.c.id), values)
        ).scalar_one()
        created.append((message_id, values["status"]))
        runs.append(
            {
                "schedule_id": schedule.id,
                "message_id": message_id,
                "contact_id": contact_id,
                "due_at": due_at,
            }
        )
    await repository.record_runs(connection, runs)
    opened = [route.conversation_id for route in routes.values() if route.opened]
    # Last before the commit (app/events/repository.py): its lock orders event ids.
    await events.record(
        connection,
        {"conversation.created": opened, "message.created": [id_ for id_, _ in created]},
    )
    return created
