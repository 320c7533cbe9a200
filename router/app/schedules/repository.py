"""The schedules' SQL: the management API's (a session per request) and the scheduler's (a
connection in the transaction of one run)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.contacts.models import Contact
from app.messages.models import Message
from app.schedules.models import Schedule, ScheduledMessage, ScheduleStatus

ACTIVE = ScheduleStatus.ACTIVE.value
schedules: Table = Schedule.__table__  # type: ignore[assignment]
runs: Table = ScheduledMessage.__table__  # type: ignore[assignment]


async def get(
    session: AsyncSession, tenant_id: int, schedule_id: int, *, for_update: bool = False
) -> Schedule | None:
    query = select(Schedule).where(Schedule.tenant_id == tenant_id, Schedule.id == schedule_id)
    if for_update:
        # A change waits for a run in progress (which holds the row on PostgreSQL), so it never
        # computes the next run from a due time that run has already taken.
        query = query.with_for_update()
    found: Schedule | None = await session.scalar(query)
    return found


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    status: ScheduleStatus | None,
    channel_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[Schedule]:
    """Newest first."""
    query = (
        select(Schedule)
        .where(Schedule.tenant_id == tenant_id)
        .order_by(Schedule.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Schedule.status == status.value)
    if channel_id is not None:
        query = query.where(Schedule.channel_id == channel_id)
    if before_id is not None:
        query = query.where(Schedule.id < before_id)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True, slots=True)
class SentMessage:
    schedule_id: int
    due_at: datetime
    contact_id: int
    message: Message


async def messages_of(
    session: AsyncSession, schedule_ids: Sequence[int], per_schedule: int
) -> dict[int, list[SentMessage]]:
    """The messages of each schedule's most recent runs (at most `per_schedule`), newest first."""
    if not schedule_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=ScheduledMessage.schedule_id, order_by=ScheduledMessage.id.desc())
        .label("rank")
    )
    ranked = (
        select(ScheduledMessage.id, rank)
        .where(ScheduledMessage.schedule_id.in_(schedule_ids))
        .subquery()
    )
    query = (
        select(ScheduledMessage, Message)
        .join(ranked, ranked.c.id == ScheduledMessage.id)
        .join(Message, Message.id == ScheduledMessage.message_id)
        .where(ranked.c.rank <= per_schedule)
        .order_by(ScheduledMessage.id.desc())
    )
    found: dict[int, list[SentMessage]] = {id_: [] for id_ in schedule_ids}
    for run, message in (await session.execute(query)).all():
        found[run.schedule_id].append(
            SentMessage(run.schedule_id, run.due_at, run.contact_id, message)
        )
    return found


async def contacts_of(session: AsyncSession, tenant_id: int, ids: Sequence[int]) -> set[int]:
    """Which of `ids` are contacts of the tenant."""
    found = await session.scalars(
        select(Contact.id).where(Contact.tenant_id == tenant_id, Contact.id.in_(ids))
    )
    return set(found.all())


# --- the scheduler ------------------------------------------------------------------------------

_c = schedules.c


async def due(connection: AsyncConnection, now: datetime, limit: int) -> list[int]:
    """Schedules whose next run has come, soonest first (from the index on next_run_at)."""
    rows = await connection.execute(
        select(_c.id).where(_c.next_run_at <= now).order_by(_c.next_run_at).limit(limit)
    )
    return [row.id for row in rows.all()]


async def take(connection: AsyncConnection, schedule_id: int, now: datetime) -> Any | None:
    """The schedule, if it is due and no other process is running it: on PostgreSQL its row
    stays locked until this transaction ends (another process skips it); SQLite has one writer,
    and `advance` only moves a due time that is still the one read here."""
    row = await connection.execute(
        select(schedules)
        .where(_c.id == schedule_id, _c.status == ACTIVE, _c.next_run_at <= now)
        .with_for_update(skip_locked=True)
    )
    return row.first()


async def advance(
    connection: AsyncConnection,
    schedule_id: int,
    due_at: datetime,
    next_run_at: datetime | None,
    now: datetime,
) -> bool:
    """Move the schedule past its run at `due_at`; False when another process already has."""
    status = ACTIVE if next_run_at is not None else ScheduleStatus.DONE.value
    moved = await connection.execute(
        update(schedules)
        .where(_c.id == schedule_id, _c.status == ACTIVE, _c.next_run_at == due_at)
        .values(next_run_at=next_run_at, last_run_at=now, status=status, updated_at=now)
    )
    return moved.rowcount == 1


async def record_runs(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(runs.insert(), list(rows))
