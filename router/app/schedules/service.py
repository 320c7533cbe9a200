"""Scheduled messages, as members manage them: create, change, cancel, read."""

from datetime import datetime
from typing import Any

from pydantic import MISSING
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import repository as channels
from app.channels.models import Channel, ChannelType
from app.contacts import repository as contacts
from app.contacts.repository import Person
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import page_of
from app.schedules import repository, timing
from app.schedules.models import Schedule, ScheduleStatus
from app.schedules.schemas import ScheduledMessageOut, ScheduleIn, ScheduleOut, SchedulePatch
from app.templates.schemas import TemplateIn

# The messages an item shows: those of its most recent runs.
SHOWN_MESSAGES = 50


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    status: ScheduleStatus | None,
    channel_id: int | None,
    before_id: int | None,
    limit: int,
) -> tuple[list[ScheduleOut], str | None]:
    rows = await repository.page(
        session,
        tenant_id,
        status=status,
        channel_id=channel_id,
        before_id=before_id,
        limit=limit + 1,
    )
    items, cursor = page_of(rows, limit, lambda s: s.id)
    return await _out(session, items), cursor


async def get(session: AsyncSession, tenant_id: int, schedule_id: int) -> ScheduleOut:
    [out] = await _out(session, [await _schedule(session, tenant_id, schedule_id)])
    return out


async def create(session: AsyncSession, tenant_id: int, body: ScheduleIn) -> ScheduleOut:
    channel = await channels.get(session, tenant_id, body.channel_id)
    if channel is None:
        raise NotFound(f"no channel {body.channel_id}")
    now = utcnow()
    schedule = Schedule(
        tenant_id=tenant_id,
        channel_id=channel.id,
        recipients=await _recipients(session, tenant_id, body.recipients, now),
        text=None if body.text is MISSING else body.text,
        template=None if body.template is MISSING else _template(channel, body.template),
        send_at=None,
        cron=None,
        timezone=body.timezone,
        status=ScheduleStatus.ACTIVE.value,
        created_at=now,
        updated_at=now,
    )
    if body.send_at is not MISSING:
        _at(schedule, body.send_at, now)
    else:
        assert body.cron is not MISSING
        _every(schedule, body.cron, now)
    session.add(schedule)
    await session.commit()
    return (await _out(session, [schedule]))[0]


async def update(
    session: AsyncSession, tenant_id: int, schedule_id: int, body: SchedulePatch
) -> ScheduleOut:
    schedule = await _schedule(session, tenant_id, schedule_id, for_update=True)
    if schedule.status != ScheduleStatus.ACTIVE.value:
        raise Conflict(f"schedule {schedule.id} is {schedule.status}: it runs no more")
    now = utcnow()
    if (recipients := body.recipients) is not None:
        schedule.recipients = await _recipients(session, tenant_id, recipients, now)
    if body.text is not MISSING:
        schedule.text, schedule.template = body.text, None
    if body.template is not MISSING:
        channel = await channels.get(session, tenant_id, schedule.channel_id)
        assert channel is not None  # a foreign key of the tenant's
        schedule.text, schedule.template = None, _template(channel, body.template)
    if body.timezone is not MISSING:
        schedule.timezone = body.timezone
    if body.send_at is not MISSING:
        _at(schedule, body.send_at, now)
    elif body.cron is not MISSING:
        _every(schedule, body.cron, now)
    elif body.timezone is not MISSING and schedule.cron is not None:
        _every(schedule, schedule.cron, now)  # the same times, in another zone
    schedule.updated_at = now
    await session.commit()
    return (await _out(session, [schedule]))[0]


async def cancel(session: AsyncSession, tenant_id: int, schedule_id: int) -> ScheduleOut:
    """No further run; the messages of past runs go on as they were. Cancelling again, or a
    schedule that is done, changes nothing."""
    schedule = await _schedule(session, tenant_id, schedule_id, for_update=True)
    if schedule.status == ScheduleStatus.ACTIVE.value:
        schedule.status = ScheduleStatus.CANCELLED.value
        schedule.next_run_at = None
        schedule.updated_at = utcnow()
    await session.commit()
    return (await _out(session, [schedule]))[0]


def _at(schedule: Schedule, send_at: datetime, now: datetime) -> None:
    # A time already past runs at the next poll.
    schedule.send_at = timing.to_utc(send_at, schedule.timezone)
    schedule.cron = None
    schedule.next_run_at = schedule.send_at


def _every(schedule: Schedule, cron: str, now: datetime) -> None:
    schedule.cron = cron
    schedule.send_at = None
    schedule.next_run_at = timing.next_cron_run(cron, schedule.timezone, now)
    if schedule.next_run_at is None:
        raise Unprocessable(f"cron: {cron!r} has no time after now")


def _template(channel: Channel, template: TemplateIn) -> dict[str, Any]:
    if channel.type != ChannelType.WHATSAPP.value:
        raise Unprocessable(
            f"template: channel {channel.id} is an api channel: it sends no WhatsApp templates"
        )
    return template.model_dump()


async def _recipients(
    session: AsyncSession, tenant_id: int, given: list[int | str], now: datetime
) -> list[int]:
    """Contact ids for contact ids and wa_ids (a number that never wrote becomes a contact)."""
    ids = [r for r in given if isinstance(r, int)]
    known = await repository.contacts_of(session, tenant_id, ids) if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFound(f"to: no contact {missing[0]}")
    people = {Person(r, None): None for r in given if isinstance(r, str)}
    if people:
        connection = await session.connection()
        resolved = await contacts.resolve_many(connection, tenant_id, people, now)
    recipients: list[int] = []
    for r in given:
        contact_id = r if isinstance(r, int) else resolved[Person(r, None)].contact_id
        if contact_id not in recipients:
            recipients.append(contact_id)
    return recipients


async def _schedule(
    session: AsyncSession, tenant_id: int, schedule_id: int, *, for_update: bool = False
) -> Schedule:
    schedule = await repository.get(session, tenant_id, schedule_id, for_update=for_update)
    if schedule is None:
        raise NotFound(f"no schedule {schedule_id}")
    return schedule


async def _out(session: AsyncSession, schedules: list[Schedule]) -> list[ScheduleOut]:
    sent = await repository.messages_of(session, [s.id for s in schedules], SHOWN_MESSAGES)
    return [
        ScheduleOut(
            id=s.id,
            channel_id=s.channel_id,
            to=list(s.recipients),
            text=s.text,
            template=s.template,
            send_at=s.send_at,
            cron=s.cron,
            timezone=s.timezone,
            status=ScheduleStatus(s.status),
            next_run_at=s.next_run_at,
            last_run_at=s.last_run_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
            messages=[
                ScheduledMessageOut(
                    id=m.message.id,
                    contact_id=m.contact_id,
                    conversation_id=m.message.conversation_id,
                    due_at=m.due_at,
                    status=m.message.status,
                    error_code=m.message.error_code,
                    error_title=m.message.error_title,
                    wamid=m.message.wamid,
                )
                for m in sent[s.id]
            ],
        )
        for s in schedules
    ]
