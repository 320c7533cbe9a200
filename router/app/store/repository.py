"""All SQL the router runs. Each method is one short transaction."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.payload import InboundMessage, StatusUpdate
from app.store.models import (
    OUTBOUND_RANK,
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
    StatusEvent,
    utcnow,
)

_RANK = case(
    *((Message.status == status.value, rank) for status, rank in OUTBOUND_RANK.items()),
    else_=-1,
)


def _threshold(status: str) -> int | None:
    """The rank a message must be below to take `status`; None for a status we do not track."""
    try:
        new = OutboundStatus(status)
    except ValueError:
        return None
    # `failed` overrides anything short of read; everything else only moves forwards.
    if new is OutboundStatus.FAILED:
        return OUTBOUND_RANK[OutboundStatus.READ]
    return OUTBOUND_RANK[new]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Message]
    next_before_id: int | None


class MessageRepository:
    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._sessions = sessions
        self._dialect = engine.dialect.name
        # SQLite has one writer at a time. Queueing writers here, on the event loop, is far cheaper
        # than letting connections sleep in SQLite's busy handler, which backs off up to 100 ms.
        self._write_lock = asyncio.Lock() if self._dialect == "sqlite" else None
        # Workers queue for the writer a few at a time, so a webhook waiting to store (and to ack)
        # is never behind more than these, however many jobs are running.
        self._worker_writes = asyncio.Semaphore(2)

    @asynccontextmanager
    async def _write(self, *, webhook: bool = False) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on exit, rolled back on error."""
        if self._write_lock is None:
            async with self._sessions.begin() as session:
                yield session
            return
        if webhook:
            async with self._write_lock, self._sessions.begin() as session:
                yield session
            return
        async with self._worker_writes, self._write_lock, self._sessions.begin() as session:
            yield session

    async def _update(self, session: AsyncSession, statement: Any) -> Any:
        # Straight to the connection: the ORM's bulk-DML path costs more than the query itself.
        connection = await session.connection()
        return await connection.execute(statement)

    def _insert(self, table: Any) -> Any:
        module = postgresql if self._dialect == "postgresql" else sqlite
        return module.insert(table)

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    # --- the webhook -------------------------------------------------------------------------

    async def store_webhook(
        self, messages: Sequence[InboundMessage], statuses: Sequence[StatusUpdate], request_id: str
    ) -> list[int]:
        """Store new inbound messages (once per wamid) and every status; return the new ids."""
        now = utcnow()
        new_ids: list[int] = []
        async with self._write(webhook=True) as session:
            if messages:
                rows = [
                    {
                        "direction": Direction.INBOUND.value,
                        "wamid": m.wamid,
                        "phone_number_id": m.phone_number_id,
                        "contact": m.reply_to,
                        "wa_id": m.wa_id,
                        "user_id": m.user_id,
                        "contact_name": m.name,
                        "type": m.type,
                        "text": m.text,
                        "status": InboundStatus.RECEIVED.value,
                        "attempts": 0,
                        "request_id": request_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for m in _unique_by_wamid(messages)
                ]
                inserted = await session.execute(
                    self._insert(Message)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["wamid"])
                    .returning(Message.id)
                )
                new_ids = sorted(inserted.scalars().all())
            for status in statuses:
                await self._record_status(session, status, now)
        return new_ids

    async def _record_status(
        self, session: AsyncSession, status: StatusUpdate, now: datetime
    ) -> None:
        await session.execute(
            self._insert(StatusEvent)
            .values(
                wamid=status.wamid,
                status=status.status,
                error_code=status.error_code,
                error_title=status.error_title,
                meta_timestamp=status.timestamp,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["wamid", "status"])
        )
        await self._apply_status(
            session, status.wamid, status.status, status.error_code, status.error_title
        )

    async def _apply_status(
        self,
        session: AsyncSession,
        wamid: str,
        status: str,
        error_code: int | None,
        error_title: str | None,
    ) -> None:
        threshold = _threshold(status)
        if threshold is None:
            return
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if status == OutboundStatus.FAILED:
            values |= {"error_code": error_code, "error_title": error_title}
        await self._update(
            session,
            update(Message)
            .where(
                Message.wamid == wamid,
                Message.direction == Direction.OUTBOUND.value,
                threshold > _RANK,
            )
            .values(**values),
        )

    # --- workers -----------------------------------------------------------------------------

    async def claim(self, message_id: int, lease_seconds: float) -> Message | None:
        """Take an inbound message for processing, if it is the next one of its contact.

        Wins for exactly one worker: the row must be unfinished and unleased (or its lease
        expired), and no earlier message of the same contact may be unfinished.
        """
        now = utcnow()
        earlier = aliased(Message)
        async with self._write() as session:
            claimed = await self._update(
                session,
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.status.in_(UNFINISHED_INBOUND),
                    or_(Message.lease_until.is_(None), Message.lease_until < now),
                    ~exists().where(
                        earlier.direction == Direction.INBOUND.value,
                        earlier.phone_number_id == Message.phone_number_id,
                        earlier.contact == Message.contact,
                        earlier.id < Message.id,
                        earlier.status.in_(UNFINISHED_INBOUND),
                    ),
                )
                .values(
                    status=InboundStatus.PROCESSING.value,
                    lease_until=_after(now, lease_seconds),
                    attempts=Message.attempts + 1,
                    updated_at=now,
                )
                .returning(*Message.__table__.columns),
            )
            row = claimed.mappings().one_or_none()
            return Message(**row) if row is not None else None

    async def extend_lease(self, message_id: int, lease_seconds: float) -> None:
        now = utcnow()
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == InboundStatus.PROCESSING.value)
                .values(lease_until=_after(now, lease_seconds), updated_at=now),
            )

    async def finish(
        self,
        message: Message,
        status: InboundStatus,
        error_code: int | None = None,
        error_title: str | None = None,
    ) -> int | None:
        """End an inbound message's processing; return its contact's next unfinished message."""
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(Message.id == message.id)
                .values(
                    status=status.value,
                    lease_until=None,
                    error_code=error_code,
                    error_title=error_title,
                    updated_at=utcnow(),
                ),
            )
            following: int | None = await session.scalar(
                select(func.min(Message.id)).where(
                    Message.direction == Direction.INBOUND.value,
                    Message.phone_number_id == message.phone_number_id,
                    Message.contact == message.contact,
                    Message.status.in_(UNFINISHED_INBOUND),
                )
            )
            return following

    async def replies_to(self, message_id: int) -> list[Message]:
        async with self._sessions() as session:
            result = await session.scalars(
                select(Message).where(Message.reply_to_id == message_id).order_by(Message.part)
            )
            return list(result.all())

    async def add_replies(self, inbound: Message, parts: Sequence[str]) -> list[Message]:
        """Store the reply's parts before sending them, so a retry sends the same text."""
        now = utcnow()
        async with self._write() as session:
            await session.execute(
                self._insert(Message)
                .values(
                    [
                        {
                            "direction": Direction.OUTBOUND.value,
                            "phone_number_id": inbound.phone_number_id,
                            "contact": inbound.contact,
                            "wa_id": inbound.wa_id,
                            "user_id": inbound.user_id,
                            "type": "text",
                            "text": part,
                            "status": OutboundStatus.PENDING.value,
                            "attempts": 0,
                            "reply_to_id": inbound.id,
                            "part": index,
                            "request_id": inbound.request_id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for index, part in enumerate(parts)
                    ]
                )
                .on_conflict_do_nothing(index_elements=["reply_to_id", "part"])
            )
            result = await session.scalars(
                select(Message).where(Message.reply_to_id == inbound.id).order_by(Message.part)
            )
            return list(result.all())

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give up the leases of work stopped at shutdown, so a restart takes it at once."""
        if not message_ids:
            return
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(
                    Message.id.in_(message_ids), Message.status == InboundStatus.PROCESSING.value
                )
                .values(status=InboundStatus.RECEIVED.value, lease_until=None),
            )

    async def unfinished(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count(Message.id)).where(
                    Message.direction == Direction.INBOUND.value,
                    Message.status.in_(UNFINISHED_INBOUND),
                )
            )
            return int(count or 0)

    async def count_attempt(self, message_id: int) -> None:
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(Message.id == message_id)
                .values(attempts=Message.attempts + 1, updated_at=utcnow()),
            )

    async def mark_accepted(self, message_id: int, wamid: str) -> None:
        """Record the wamid Meta gave a sent part, then any status that arrived before it."""
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == OutboundStatus.PENDING.value)
                .values(wamid=wamid, status=OutboundStatus.ACCEPTED.value, updated_at=utcnow()),
            )
            early = await session.scalars(
                select(StatusEvent).where(StatusEvent.wamid == wamid).order_by(StatusEvent.id)
            )
            for event in early.all():
                await self._apply_status(
                    session, wamid, event.status, event.error_code, event.error_title
                )

    async def mark_failed(self, message_id: int, error_code: int | None, error_title: str) -> None:
        async with self._write() as session:
            await self._update(
                session,
                update(Message)
                .where(Message.id == message_id)
                .values(
                    status=OutboundStatus.FAILED.value,
                    error_code=error_code,
                    error_title=error_title,
                    updated_at=utcnow(),
                ),
            )

    async def resumable(self, stale_seconds: float | None, limit: int = 1000) -> list[int]:
        """Unfinished inbound messages nobody holds: their lease ran out, or they have waited
        unclaimed for `stale_seconds` (None: however briefly, for a start with an empty queue)."""
        now = utcnow()
        waiting: ColumnElement[bool] = Message.lease_until.is_(None)
        if stale_seconds is not None:
            waiting = and_(waiting, Message.updated_at < _after(now, -stale_seconds))
        async with self._sessions() as session:
            result = await session.scalars(
                select(Message.id)
                .where(
                    Message.direction == Direction.INBOUND.value,
                    Message.status.in_(UNFINISHED_INBOUND),
                    or_(waiting, Message.lease_until < now),
                )
                .order_by(Message.id)
                .limit(limit)
            )
            return list(result.all())

    # --- the management API ------------------------------------------------------------------

    async def counts(self) -> dict[str, dict[str, int]]:
        """How many messages stand in each status, per direction."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Message.direction, Message.status, func.count(Message.id)).group_by(
                    Message.direction, Message.status
                )
            )
            counts: dict[str, dict[str, int]] = {d.value: {} for d in Direction}
            for direction, status, count in rows.all():
                counts[direction][status] = count
            return counts

    async def get(self, message_id: int) -> Message | None:
        async with self._sessions() as session:
            return await session.get(Message, message_id)

    async def page(
        self,
        *,
        status: str | None,
        direction: str | None,
        limit: int,
        before_id: int | None,
    ) -> Page:
        query = select(Message).order_by(Message.id.desc()).limit(limit + 1)
        if status:
            query = query.where(Message.status == status)
        if direction:
            query = query.where(Message.direction == direction)
        if before_id:
            query = query.where(Message.id < before_id)
        async with self._sessions() as session:
            items = list((await session.scalars(query)).all())
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].id if more and items else None)

    async def reopen(self, message: Message) -> int | None:
        """Put a failed message back in line; return the inbound message to process again.

        A failed inbound message goes back with its unsent parts. A failed reply (refused by the
        Graph API, or reported failed by a status webhook) is sent again as a new message.
        """
        now = utcnow()
        inbound_id = message.reply_to_id if message.reply_to_id is not None else message.id
        async with self._write() as session:
            if message.direction == Direction.OUTBOUND.value:
                parts = [message.id]
                inbound_filter = Message.id == inbound_id
            else:
                parts = list(
                    (
                        await session.scalars(
                            select(Message.id).where(
                                Message.reply_to_id == inbound_id,
                                Message.status == OutboundStatus.FAILED.value,
                            )
                        )
                    ).all()
                )
                inbound_filter = and_(
                    Message.id == inbound_id, Message.status == InboundStatus.FAILED.value
                )
            reset_parts = await self._update(
                session,
                update(Message)
                .where(Message.id.in_(parts), Message.status == OutboundStatus.FAILED.value)
                .values(
                    status=OutboundStatus.PENDING.value,
                    wamid=None,
                    error_code=None,
                    error_title=None,
                    updated_at=now,
                )
                .returning(Message.id),
            )
            if message.direction == Direction.OUTBOUND.value and not reset_parts.scalars().all():
                return None  # the reply has not failed
            reopened = await self._update(
                session,
                update(Message)
                .where(inbound_filter, Message.status.not_in(UNFINISHED_INBOUND))
                .values(
                    status=InboundStatus.RECEIVED.value,
                    attempts=0,
                    error_code=None,
                    error_title=None,
                    lease_until=None,
                    updated_at=now,
                )
                .returning(Message.id),
            )
            if reopened.scalar_one_or_none() is None and message.direction != Direction.OUTBOUND:
                await session.rollback()
                return None
            return inbound_id


def _unique_by_wamid(messages: Sequence[InboundMessage]) -> list[InboundMessage]:
    seen: dict[str, InboundMessage] = {}
    for message in messages:
        seen.setdefault(message.wamid, message)
    return list(seen.values())


def _after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
