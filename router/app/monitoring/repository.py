"""The monitoring's reads of the store, and the workers' heartbeats.

The queue's figures come from one query over the unfinished inbound messages, which the status
index finds without reading the finished ones: cheap enough for every scrape and every call.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.models import Channel, ChannelType
from app.core.clock import utcnow
from app.core.db import conflict_insert
from app.messages.models import UNFINISHED_INBOUND, Direction, Message, OutboundStatus
from app.monitoring.models import Worker

# A worker's row is kept this long after its last heartbeat, then removed by the others'.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    depth: int  # unfinished inbound messages no worker holds
    oldest: datetime | None  # when the oldest of them was stored (naive UTC)
    in_flight: int  # held by a worker (a live lease)
    retrying: int  # unfinished after more than one attempt


@dataclass(frozen=True, slots=True)
class Beat:
    """What a worker says of itself in a heartbeat: the `workers` table's columns but `seen_at`."""

    id: str
    hostname: str
    pid: int
    queue: str
    started_at: datetime
    running: int
    circuits: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SeenWorker:
    """A `workers` row (a test holds its fields equal to the table's columns)."""

    id: str
    hostname: str
    pid: int
    queue: str
    started_at: datetime
    seen_at: datetime
    running: int
    circuits: list[dict[str, Any]]


class MonitoringRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def queue(self) -> QueueCounts:
        m = Message.__table__.c
        now = utcnow()
        held = and_(m.lease_until.is_not(None), m.lease_until >= now)
        query = select(
            func.count(case((~held, 1))),
            func.min(case((~held, m.created_at))),
            func.count(case((held, 1))),
            func.count(case((m.attempts > 1, 1))),
        ).where(m.status.in_(UNFINISHED_INBOUND), m.direction == Direction.INBOUND.value)
        async with self._engine.connect() as connection:
            depth, oldest, in_flight, retrying = (await connection.execute(query)).one()
        return QueueCounts(depth, oldest, in_flight, retrying)

    async def failed(self) -> int:
        """Messages of either direction that failed: what `/api/v1/messages?status=failed`
        lists, the dead letters."""
        query = select(func.count()).where(Message.status == OutboundStatus.FAILED.value)
        async with self._engine.connect() as connection:
            return int((await connection.scalar(query)) or 0)

    async def beat(self, beat: Beat) -> None:
        """Record a heartbeat, and forget the workers long gone."""
        now = utcnow()
        row = {
            "id": beat.id,
            "hostname": beat.hostname,
            "pid": beat.pid,
            "queue": beat.queue,
            "started_at": beat.started_at,
            "seen_at": now,
            "running": beat.running,
            "circuits": beat.circuits,
        }
        insert = conflict_insert(self._engine.dialect.name, Worker.__table__)
        upsert = insert.values(row).on_conflict_do_update(
            index_elements=["id"],
            set_={"seen_at": now, "running": beat.running, "circuits": beat.circuits},
        )
        async with self._engine.begin() as connection:
            await connection.execute(upsert)
            await connection.execute(delete(Worker).where(Worker.seen_at < now - FORGET_AFTER))

    async def forget(self, worker_id: str) -> None:
        """A worker that stops cleanly leaves the list at once."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(Worker).where(Worker.id == worker_id))

    async def workers(self, seen_within: timedelta) -> list[SeenWorker]:
        """The workers whose last heartbeat is at most `seen_within` old, oldest first."""
        workers = Worker.__table__
        query = (
            select(workers)
            .where(workers.c.seen_at >= utcnow() - seen_within)
            .order_by(workers.c.started_at, workers.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [SeenWorker(**row) for row in rows]

    async def numbers(self) -> list[str]:
        """Every WhatsApp channel's number, whatever its tenant."""
        query = select(Channel.phone_number_id).where(
            Channel.type == ChannelType.WHATSAPP.value, Channel.phone_number_id.is_not(None)
        )
        async with self._engine.connect() as connection:
            return [number for number in (await connection.scalars(query)).all() if number]

    async def is_channel(self, phone_number_id: str) -> bool:
        query = select(exists().where(Channel.phone_number_id == phone_number_id))
        async with self._engine.connect() as connection:
            return bool(await connection.scalar(query))

    async def number_displayed_as(self, digits: str) -> str | None:
        """The phone_number_id of the WhatsApp channel whose display number is these digits,
        however it is written ("+1 555-010-0100", "15550100100")."""
        shown: Any = Channel.display_phone_number
        # The separators a display number is written with (app/inbound/payload.py's _DISPLAY, and
        # "."): REPLACE is the same function in SQLite and PostgreSQL.
        for separator in " -()+.":
            shown = func.replace(shown, separator, "")
        query = (
            select(Channel.phone_number_id)
            .where(
                Channel.type == ChannelType.WHATSAPP.value,
                Channel.phone_number_id.is_not(None),
                shown == digits,
            )
            .order_by(Channel.id)
            .limit(1)
        )
        async with self._engine.connect() as connection:
            return await connection.scalar(query)
