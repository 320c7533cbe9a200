"""All SQL the router runs.

Writes go through one group-commit writer (`batch.GroupCommit`): the writes that concurrent
webhooks and jobs ask for at the same moment share a transaction, and each kind of write is one
statement for all of them. The statements are built once, with bind parameters, so a write costs
the database's time and not SQLAlchemy's. Reads use their own connections.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.observability.metrics import Metrics
from app.payload import InboundMessage, StatusUpdate
from app.store.batch import GroupCommit
from app.store.models import (
    OUTBOUND_RANK,
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
    Row,
    StatusEvent,
    utcnow,
)

messages: Table = Message.__table__  # type: ignore[assignment]
events: Table = StatusEvent.__table__  # type: ignore[assignment]
COLUMNS = tuple(messages.columns)
# Wamids per status statement: far below SQLite's and asyncpg's limits on bound parameters.
STATUS_CHUNK = 500
INBOUND, OUTBOUND = Direction.INBOUND.value, Direction.OUTBOUND.value

_RANK = case(
    *((messages.c.status == status.value, rank) for status, rank in OUTBOUND_RANK.items()),
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


@dataclass(frozen=True, slots=True)
class Claim:
    message: Row
    replies: list[Row]  # reply parts an earlier attempt stored, in order; usually none


@dataclass(frozen=True, slots=True)
class Ending:
    """How an inbound message's processing ended."""

    message: Row
    status: InboundStatus
    error_code: int | None = None
    error_title: str | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """A part's send is about to start, with this tracker (see app/trackers.py)."""

    part_id: int
    tracker: str


@dataclass(frozen=True, slots=True)
class _Accepted:
    part_id: int
    wamid: str
    ending: Ending | None  # the last part: the message ends in the same transaction
    then: Start | None  # the next part: its send starts


@dataclass(frozen=True, slots=True)
class _Webhook:
    rows: list[dict[str, Any]]
    statuses: Sequence[StatusUpdate]


Write = Callable[[AsyncConnection], Awaitable[Any]]


class MessageRepository:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._metrics = metrics or Metrics()
        self._build_statements(postgresql if engine.dialect.name == "postgresql" else sqlite)
        # Listed in the order they run within a round: the webhook's writes first.
        self._writer = GroupCommit(
            engine,
            [
                self._store_webhooks,
                self._finish_many,
                self._accept_many,
                self._claim_many,
                self._add_replies_many,
                self._each,
            ],
        )

    def _build_statements(self, dialect: Any) -> None:
        c = messages.c
        self._insert_inbound = (
            dialect.insert(messages)
            .on_conflict_do_nothing(index_elements=["wamid"])
            .returning(c.id, c.wamid)
        )
        self._insert_event = dialect.insert(events).on_conflict_do_nothing(
            index_elements=["wamid", "status"]
        )
        moves_up = and_(
            c.wamid.in_(bindparam("b_wamids", expanding=True)),
            c.direction == Direction.OUTBOUND.value,
            bindparam("b_threshold") > _RANK,
        )
        self._apply_status = (
            update(messages)
            .where(moves_up)
            .values(status=bindparam("b_status"), updated_at=bindparam("b_now"))
        )
        self._apply_failure = (
            update(messages)
            .where(moves_up)
            .values(
                status=OutboundStatus.FAILED.value,
                error_code=bindparam("b_code"),
                error_title=bindparam("b_title"),
                updated_at=bindparam("b_now"),
            )
        )
        earlier = messages.alias("earlier")
        self._claim = (
            update(messages)
            .where(
                c.id.in_(bindparam("b_ids", expanding=True)),
                c.status.in_(UNFINISHED_INBOUND),
                or_(c.lease_until.is_(None), c.lease_until < bindparam("b_now")),
                # Only a contact's first unfinished message: one contact is answered in order.
                ~exists()
                .where(
                    earlier.c.direction == Direction.INBOUND.value,
                    earlier.c.phone_number_id == c.phone_number_id,
                    earlier.c.contact == c.contact,
                    earlier.c.id < c.id,
                    earlier.c.status.in_(UNFINISHED_INBOUND),
                )
                .correlate(messages),
            )
            .values(
                status=InboundStatus.PROCESSING.value,
                lease_until=bindparam("b_lease"),
                attempts=c.attempts + 1,
                updated_at=bindparam("b_now"),
            )
            .returning(*COLUMNS)
        )
        self._insert_replies = (
            dialect.insert(messages)
            .on_conflict_do_nothing(index_elements=["reply_to_id", "part"])
            .returning(*COLUMNS)
        )
        self._select_replies = (
            select(*COLUMNS)
            .where(c.reply_to_id.in_(bindparam("b_ids", expanding=True)))
            .order_by(c.reply_to_id, c.part)
        )
        self._accept = (
            update(messages)
            .where(c.id == bindparam("b_id"), c.status == OutboundStatus.PENDING.value)
            .values(
                wamid=bindparam("b_wamid"),
                status=OutboundStatus.ACCEPTED.value,
                updated_at=bindparam("b_now"),
            )
        )
        self._start_send = (
            update(messages)
            .where(c.id == bindparam("b_id"), c.status == OutboundStatus.PENDING.value)
            .values(tracker=bindparam("b_tracker"), updated_at=bindparam("b_now"))
        )
        self._early_events = (
            select(events.c.wamid, events.c.status, events.c.error_code, events.c.error_title)
            .where(events.c.wamid.in_(bindparam("b_wamids", expanding=True)))
            .order_by(events.c.id)
        )
        self._finish = (
            update(messages)
            .where(c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                lease_until=None,
                error_code=bindparam("b_code"),
                error_title=bindparam("b_title"),
                updated_at=bindparam("b_now"),
            )
        )
        self._fail_part = (
            update(messages)
            .where(c.id == bindparam("b_id"))
            .values(
                status=OutboundStatus.FAILED.value,
                error_code=bindparam("b_code"),
                error_title=bindparam("b_title"),
                updated_at=bindparam("b_now"),
            )
        )
        self._by_tracker = (
            select(events.c.tracker, events.c.wamid)
            .where(events.c.tracker.in_(bindparam("b_trackers", expanding=True)))
            .order_by(events.c.id)
        )
        self._following = (
            select(c.phone_number_id, c.contact, func.min(c.id))
            .where(
                c.direction == Direction.INBOUND.value,
                c.status.in_(UNFINISHED_INBOUND),
                tuple_(c.phone_number_id, c.contact).in_(bindparam("b_pairs", expanding=True)),
            )
            .group_by(c.phone_number_id, c.contact)
        )

    def _count(self, direction: str, status: str, count: int = 1) -> None:
        """router_messages_total: `count` messages moved into `status` once this round commits."""
        self._writer.after_commit(self._metrics.message_status, direction, status, count)

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        """Commit the writes already asked for; call before disposing of the engine."""
        await self._writer.aclose()

    # --- the webhook -------------------------------------------------------------------------

    async def store_webhook(
        self, inbound: Sequence[InboundMessage], statuses: Sequence[StatusUpdate], request_id: str
    ) -> list[int]:
        """Store new inbound messages (once per wamid) and every status; return the new ids."""
        now = utcnow()
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
            for m in inbound
        ]
        new_ids: list[int] = await self._writer.write(
            self._store_webhooks, _Webhook(rows, statuses)
        )
        return new_ids

    async def _store_webhooks(
        self, connection: AsyncConnection, webhooks: list[_Webhook]
    ) -> list[list[int]]:
        rows = [row for webhook in webhooks for row in webhook.rows]
        ids: dict[str, int] = {}
        if rows:
            # Two webhooks of one round may carry the same wamid (a redelivery): stored once.
            # Ids follow the order of arrival: one contact's messages are answered in that order.
            fresh: dict[str, dict[str, Any]] = {}
            for row in rows:
                fresh.setdefault(row["wamid"], row)
            inserted = await connection.execute(self._insert_inbound, list(fresh.values()))
            ids = {wamid: id_ for id_, wamid in inserted.all()}
            self._count(INBOUND, InboundStatus.RECEIVED, len(ids))
        statuses = [status for webhook in webhooks for status in webhook.statuses]
        if statuses:
            now = utcnow()
            await connection.execute(
                self._insert_event,
                [
                    {
                        "wamid": s.wamid,
                        "status": s.status,
                        "error_code": s.error_code,
                        "error_title": s.error_title,
                        "meta_timestamp": s.timestamp,
                        "tracker": s.tracker,
                        "received_at": now,
                    }
                    for s in statuses
                ],
            )
            await self._apply_statuses(
                connection, [(s.wamid, s.status, s.error_code, s.error_title) for s in statuses]
            )
        results = []
        for webhook in webhooks:
            mine = []
            for row in webhook.rows:
                new_id = ids.pop(row["wamid"], None)  # the first webhook with a wamid has it
                if new_id is not None:
                    mine.append(new_id)
            results.append(sorted(mine))
        return results

    async def _apply_statuses(
        self,
        connection: AsyncConnection,
        statuses: Sequence[tuple[str, str, int | None, str | None]],
    ) -> None:
        """Move outbound messages to a status, never backwards.

        One statement per status (per error, for failures), lowest rank first: a message's final
        status is the one it would reach taking them in any order, and each statement's row
        count says how many messages it really moved (router_messages_total).
        """
        now = utcnow()
        moves: dict[str, list[str]] = {}
        failures: dict[tuple[int | None, str | None], list[str]] = {}
        for wamid, status, error_code, error_title in statuses:
            if _threshold(status) is None:
                continue
            if status == OutboundStatus.FAILED:
                failures.setdefault((error_code, error_title), []).append(wamid)
            else:
                moves.setdefault(status, []).append(wamid)
        for status in sorted(moves, key=lambda name: OUTBOUND_RANK[OutboundStatus(name)]):
            extra = {"b_status": status, "b_now": now}
            await self._move(connection, self._apply_status, moves[status], status, extra)
        for (code, title), wamids in failures.items():
            extra = {"b_code": code, "b_title": title, "b_now": now}
            await self._move(connection, self._apply_failure, wamids, OutboundStatus.FAILED, extra)

    async def _move(
        self,
        connection: AsyncConnection,
        statement: Any,
        wamids: list[str],
        status: str,
        extra: dict[str, Any],
    ) -> None:
        params = {"b_threshold": _threshold(status), **extra}
        for start in range(0, len(wamids), STATUS_CHUNK):
            chunk = wamids[start : start + STATUS_CHUNK]
            moved = await connection.execute(statement, {**params, "b_wamids": chunk})
            self._count(OUTBOUND, status, moved.rowcount)

    # --- workers -----------------------------------------------------------------------------

    async def claim(self, message_id: int, lease_seconds: float) -> Claim | None:
        """Take an inbound message for processing, if it is the next one of its contact.

        Wins for exactly one worker: the row must be unfinished and unleased (or its lease
        expired), and no earlier message of the same contact may be unfinished.
        """
        claimed: Claim | None = await self._writer.write(
            self._claim_many, (message_id, lease_seconds)
        )
        return claimed

    async def _claim_many(
        self, connection: AsyncConnection, requests: list[tuple[int, float]]
    ) -> list[Claim | None]:
        now = utcnow()
        claims: dict[int, Claim] = {}
        # One statement per lease length (in practice, one for the whole round).
        by_lease: dict[float, set[int]] = {}
        for message_id, lease_seconds in requests:
            by_lease.setdefault(lease_seconds, set()).add(message_id)
        for lease_seconds, ids in by_lease.items():
            rows = await connection.execute(
                self._claim,
                {"b_ids": sorted(ids), "b_now": now, "b_lease": _after(now, lease_seconds)},
            )
            for row in rows.mappings():
                claims[row["id"]] = Claim(_message(row), [])
        self._count(INBOUND, InboundStatus.PROCESSING, len(claims))
        if claims:
            # Parts stored by an earlier attempt: sent as they are, never computed again.
            stored = await connection.execute(self._select_replies, {"b_ids": sorted(claims)})
            for row in stored.mappings():
                claims[row["reply_to_id"]].replies.append(_message(row))
        # A message asked for twice in one round is given to the first asker only.
        return [claims.pop(message_id, None) for message_id, _ in requests]

    async def extend_lease(self, message_id: int, lease_seconds: float) -> None:
        async def extend(connection: AsyncConnection) -> None:
            now = utcnow()
            await connection.execute(
                update(messages)
                .where(
                    messages.c.id == message_id,
                    messages.c.status == InboundStatus.PROCESSING.value,
                )
                .values(lease_until=_after(now, lease_seconds), updated_at=now)
            )

        await self._writer.write(self._each, extend)

    async def finish(self, ending: Ending) -> int | None:
        """End an inbound message's processing; return its contact's next unfinished message."""
        following: int | None = await self._writer.write(self._finish_many, ending)
        return following

    async def _finish_many(
        self, connection: AsyncConnection, endings: list[Ending]
    ) -> list[int | None]:
        now = utcnow()
        await connection.execute(
            self._finish,
            [
                {
                    "b_id": e.message.id,
                    "b_status": e.status.value,
                    "b_code": e.error_code,
                    "b_title": e.error_title,
                    "b_now": now,
                }
                for e in endings
            ],
        )
        for ending in endings:
            self._count(INBOUND, ending.status)
        pairs = sorted({(e.message.phone_number_id, e.message.contact) for e in endings})
        rows = await connection.execute(self._following, {"b_pairs": pairs})
        following = {(phone, contact): id_ for phone, contact, id_ in rows.all()}
        return [following.get((e.message.phone_number_id, e.message.contact)) for e in endings]

    async def add_replies(self, inbound: Row, parts: Sequence[str], tracker: str) -> list[Row]:
        """Store the reply's parts before sending them, so a retry sends the same text.

        The first part's send starts now: it is stored with its `tracker`.
        """
        stored: list[Row] = await self._writer.write(
            self._add_replies_many, (inbound, parts, tracker)
        )
        return stored

    async def _add_replies_many(
        self, connection: AsyncConnection, requests: list[tuple[Row, Sequence[str], str]]
    ) -> list[list[Row]]:
        now = utcnow()
        rows = [
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
                "tracker": tracker if index == 0 else None,
                "created_at": now,
                "updated_at": now,
            }
            for inbound, parts, tracker in requests
            for index, part in enumerate(parts)
        ]
        inserted = await connection.execute(self._insert_replies, rows)
        stored: dict[int, list[Row]] = {}
        for row in inserted.mappings():
            stored.setdefault(row["reply_to_id"], []).append(_message(row))
        self._count(OUTBOUND, OutboundStatus.PENDING, sum(map(len, stored.values())))
        # Parts stored by an earlier attempt were not inserted again: read them.
        missing = [
            inbound.id
            for inbound, parts, _ in requests
            if len(stored.get(inbound.id, [])) < len(parts)
        ]
        if missing:
            for id_ in missing:
                stored.pop(id_, None)
            found = await connection.execute(self._select_replies, {"b_ids": missing})
            for row in found.mappings():
                stored.setdefault(row["reply_to_id"], []).append(_message(row))
        return [
            sorted(stored.get(inbound.id, []), key=lambda m: m.part or 0)
            for inbound, _, _ in requests
        ]

    async def accept(
        self, part_id: int, wamid: str, ending: Ending | None = None, then: Start | None = None
    ) -> int | None:
        """Record the wamid Meta gave a sent part, and any status that arrived before it.

        With `ending` (the last part was sent), the inbound message ends in the same transaction;
        its contact's next unfinished message is returned. With `then`, the next part's send
        starts in the same transaction.
        """
        following: int | None = await self._writer.write(
            self._accept_many, _Accepted(part_id, wamid, ending, then)
        )
        return following

    async def _accept_many(
        self, connection: AsyncConnection, accepted: list[_Accepted]
    ) -> list[int | None]:
        now = utcnow()
        await connection.execute(
            self._accept, [{"b_id": a.part_id, "b_wamid": a.wamid, "b_now": now} for a in accepted]
        )
        self._count(OUTBOUND, OutboundStatus.ACCEPTED, len(accepted))
        early = await connection.execute(
            self._early_events, {"b_wamids": [a.wamid for a in accepted]}
        )
        await self._apply_statuses(connection, [tuple(row) for row in early.all()])
        starts = [a.then for a in accepted if a.then is not None]
        if starts:
            await self._start_sends(connection, starts)
        endings = [a.ending for a in accepted if a.ending is not None]
        following = iter(await self._finish_many(connection, endings) if endings else [])
        return [next(following) if a.ending is not None else None for a in accepted]

    async def start(self, start: Start) -> None:
        """Record that a part's send starts, for a part no other write could carry it with."""

        async def record(connection: AsyncConnection) -> None:
            await self._start_sends(connection, [start])

        await self._writer.write(self._each, record)

    async def _start_sends(self, connection: AsyncConnection, starts: list[Start]) -> None:
        now = utcnow()
        await connection.execute(
            self._start_send,
            [{"b_id": s.part_id, "b_tracker": s.tracker, "b_now": now} for s in starts],
        )

    async def fail(self, part_id: int, ending: Ending) -> int | None:
        """A part the Graph API refused: it and its inbound message fail in one transaction, so no
        restart can find the message unfinished with nothing left to send. Returns the contact's
        next unfinished message."""

        async def record(connection: AsyncConnection) -> int | None:
            await connection.execute(
                self._fail_part,
                {
                    "b_id": part_id,
                    "b_code": ending.error_code,
                    "b_title": ending.error_title,
                    "b_now": utcnow(),
                },
            )
            self._count(OUTBOUND, OutboundStatus.FAILED)
            [following] = await self._finish_many(connection, [ending])
            return following

        following: int | None = await self._writer.write(self._each, record)
        return following

    async def wamids_for_trackers(self, trackers: Sequence[str]) -> dict[str, str]:
        """The wamid of a status webhook that carried each tracker, for those that have one."""
        found: dict[str, str] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(trackers), 500):
                rows = await connection.execute(
                    self._by_tracker, {"b_trackers": list(trackers[start : start + 500])}
                )
                for tracker, wamid in rows.all():
                    found.setdefault(tracker, wamid)  # the first send Meta reported
        return found

    async def count_attempt(self, message_id: int) -> None:
        async def count(connection: AsyncConnection) -> None:
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(attempts=messages.c.attempts + 1, updated_at=utcnow())
            )

        await self._writer.write(self._each, count)

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give up the leases of work stopped at shutdown, so a restart takes it at once."""
        if not message_ids:
            return

        async def release(connection: AsyncConnection) -> None:
            released = await connection.execute(
                update(messages)
                .where(
                    messages.c.id.in_(message_ids),
                    messages.c.status == InboundStatus.PROCESSING.value,
                )
                .values(status=InboundStatus.RECEIVED.value, lease_until=None)
            )
            self._count(INBOUND, InboundStatus.RECEIVED, released.rowcount)

        await self._writer.write(self._each, release)

    async def _each(self, connection: AsyncConnection, writes: list[Write]) -> list[Any]:
        """Writes too rare to deserve a statement of their own kind: one after the other."""
        return [await write(connection) for write in writes]

    async def unfinished(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count(Message.id)).where(
                    Message.direction == Direction.INBOUND.value,
                    Message.status.in_(UNFINISHED_INBOUND),
                )
            )
            return int(count or 0)

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
        if message_id > self._largest_id:
            return None  # the id column cannot hold it: no row has it
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
        if before_id and before_id <= self._largest_id:  # beyond it, every row is before
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
        None when there was nothing failed to put back; then nothing is changed.
        """
        inbound_id = message.reply_to_id if message.reply_to_id is not None else message.id
        outbound = message.direction == Direction.OUTBOUND.value

        async def reopen(connection: AsyncConnection) -> int | None:
            now = utcnow()
            c = messages.c
            parts_filter = c.id == message.id if outbound else c.reply_to_id == inbound_id
            if outbound:
                # The failed reply first: if it has not failed, there is nothing to do.
                reset = await connection.execute(
                    self._reset_parts(parts_filter, now).returning(c.id)
                )
                if not (reset_ids := reset.all()):
                    return None
                self._count(OUTBOUND, OutboundStatus.PENDING, len(reset_ids))
                inbound_filter = and_(c.id == inbound_id, c.status.not_in(UNFINISHED_INBOUND))
            else:
                inbound_filter = and_(c.id == inbound_id, c.status == InboundStatus.FAILED.value)
            reopened = await connection.execute(
                update(messages)
                .where(inbound_filter)
                .values(
                    status=InboundStatus.RECEIVED.value,
                    attempts=0,
                    error_code=None,
                    error_title=None,
                    lease_until=None,
                    updated_at=now,
                )
                .returning(c.id)
            )
            if reopened.first() is not None:
                self._count(INBOUND, InboundStatus.RECEIVED)
            elif not outbound:
                return None  # the message has not failed
            if not outbound:
                parts = await connection.execute(self._reset_parts(parts_filter, now))
                self._count(OUTBOUND, OutboundStatus.PENDING, parts.rowcount)
            return inbound_id

        reopened: int | None = await self._writer.write(self._each, reopen)
        return reopened

    @property
    def _largest_id(self) -> int:
        # `messages.id` is an Integer: 32-bit on PostgreSQL, 64-bit on SQLite. A larger id sent to
        # the database is an error, not an empty answer.
        return 2**31 - 1 if self._engine.dialect.name == "postgresql" else 2**63 - 1

    def _reset_parts(self, where: ColumnElement[bool], now: datetime) -> Any:
        """Failed reply parts back to pending, to be sent again as new messages."""
        return (
            update(messages)
            .where(where, messages.c.status == OutboundStatus.FAILED.value)
            .values(
                status=OutboundStatus.PENDING.value,
                wamid=None,
                tracker=None,  # a new send: its statuses must not be taken for the old one's
                error_code=None,
                error_title=None,
                updated_at=now,
            )
        )


def _message(row: Any) -> Row:
    return Row(**row)


def _after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
