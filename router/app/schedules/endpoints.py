"""`/api/v1/schedules`: messages sent at a set time or on a cron schedule (owners and admins
write, every role reads: an agent writes to the contacts of its conversations, not to many at
a time)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.principal import ReadScope, SchedulesScope
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import MAX_ID, IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.schedules import service
from app.schedules.models import ScheduleStatus
from app.schedules.schemas import ScheduleIn, ScheduleOut, SchedulePatch

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"], responses=answers(NotFound))


@router.get("")
async def list_schedules(
    scope: ReadScope,
    session: SessionDep,
    status: ScheduleStatus | None = None,
    channel_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[ScheduleOut]:
    """The tenant's schedules, newest first, each with the messages of its latest runs."""
    items, next_ = await service.page(
        session,
        scope.tenant_id,
        status=status,
        channel_id=channel_id,
        before_id=cursor,
        limit=limit,
    )
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody))
async def create_schedule(
    body: ScheduleIn, scope: SchedulesScope, session: SessionDep
) -> ScheduleOut:
    """Send `text` (or `template`) to `to` (contact ids and/or wa_ids; a number that never wrote
    becomes a contact) once at `send_at`, or at each time of `cron` (five fields) in
    `timezone`. Each run stores one message per recipient and sends it on the durable path; a
    text to a contact outside WhatsApp's 24-hour window fails with "a template is needed".
    404 for a channel or contact the tenant does not have; 422 naming a bad cron expression or
    time zone."""
    return await service.create(session, scope.tenant_id, body)


@router.get("/{schedule_id}")
async def get_schedule(schedule_id: IdPath, scope: ReadScope, session: SessionDep) -> ScheduleOut:
    """One schedule, with the messages of its latest runs."""
    return await service.get(session, scope.tenant_id, schedule_id)


@router.patch("/{schedule_id}", responses=declared(UnreadableBody, Conflict))
async def update_schedule(
    schedule_id: IdPath, body: SchedulePatch, scope: SchedulesScope, session: SessionDep
) -> ScheduleOut:
    """Change what, to whom or when; the next run is computed again. 409 once the schedule is
    cancelled or done."""
    return await service.update(session, scope.tenant_id, schedule_id, body)


@router.delete("/{schedule_id}")
async def cancel_schedule(
    schedule_id: IdPath, scope: SchedulesScope, session: SessionDep
) -> ScheduleOut:
    """Cancel: no further run (the messages already made go on). The schedule stays, listed as
    cancelled."""
    return await service.cancel(session, scope.tenant_id, schedule_id)
