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

from app.channels.directory import ChannelDirectory
from app.contacts.models import Contact
from app.conversations import repository as conversations
from app.conversations.models import Conversation
from app.core.db import chunked
from app.inbound.ingest import Placement, RecentPeople, place
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
    Sender,
    StatusEvent,
    utcnow,
)

messages: Table = Message.__table__  # type: ignore[assignment]
events: Table = StatusEvent.__table__  # type: ignore[assignment]
COLUMNS = tuple(messages.columns)
# How long a process keeps a number's channel when nothing says otherwise (see the directory).
CHANNEL_CACHE_SECONDS = 10.0

# A member's message (and, later, any outbound message that answers nothing): sent by a job of its
# own, held through the same lease as an inbound message's while it is `pending`.
OWN = and_(
    messages.c.direction == Direction.OUTBOUND.value,
    messages.c.reply_to_id.is_(None),
)
UNFINISHED = or_(
    and_(
        messages.c.direction == Direction.INBOUND.value, messages.c.status.in_(UNFINISHED_INBOUND)
    ),
    and_(OWN, messages.c.status == OutboundStatus.PENDING.value),
)
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
    """A message a worker holds. An inbound one, to route and answer; or an outbound message of
    its own (`own`: a member's), to send. With what routing needs, read when it was taken."""

    message: Row
    replies: list[Row]  # reply parts an earlier attempt stored, in order; usually none
    owner_member_id: int | None = None  # the conversation's owner; None: the bot
    contact_blocked: bool = False

    @property
    def own(self) -> bool:
        return self.message.direction == Direction.OUTBOUND.value


@dataclass(frozen=True, slots=True)
class Ingested:
    """What a webhook's messages came to: the new ones to queue, and those to no channel."""

    queued: list[int]
    unrouted: int = 0

    @property
    def stored(self) -> int:
        return len(self.queued) + self.unrouted


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
    own: Row | None = None  # a message of its own: its contact's next one is looked for


@dataclass(frozen=True, slots=True)
class _Webhook:
    messages: Sequence[InboundMessage]
    statuses: Sequence[StatusUpdate]
    request_id: str


Write = Callable[[AsyncConnection], Awaitable[Any]]


class MessageRepository:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        directory: ChannelDirectory | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self.directory = directory or ChannelDirectory(engine, CHANNEL_CACHE_SECONDS)
        self._recent = RecentPeople()
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
        conversation = Conversation.__table__
        contact = Contact.__table__
        # Read in the claim itself: a handover or a block counts from the very next message.
        owner = (
            select(conversation.c.owner_member_id)
            .where(conversation.c.id == c.conversation_id)
            .correlate(messages)
            .scalar_subquery()
            .label("r_owner")
        )
        blocked = (
            select(contact.c.is_blocked)
            .where(contact.c.id == c.contact_id)
            .correlate(messages)
            .scalar_subquery()
            .label("r_blocked")
        )
        free = or_(c.lease_until.is_(None), c.lease_until < bindparam("b_now"))
        self._claim = (
            update(messages)
            .where(
                c.id.in_(bindparam("b_ids", expanding=True)),
                c.status.in_(UNFINISHED_INBOUND),
                free,
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
            .returning(*COLUMNS, owner, blocked)
        )
        self._claim_own = (
            update(messages)
            .where(
                c.id.in_(bindparam("b_ids", expanding=True)),
                OWN,
                c.status == OutboundStatus.PENDING.value,
                free,
                # A contact's messages of their own go out in the order they were written.
                ~exists()
                .where(
                    earlier.c.direction == Direction.OUTBOUND.value,
                    earlier.c.reply_to_id.is_(None),
                    earlier.c.phone_number_id == c.phone_number_id,
                    earlier.c.contact == c.contact,
                    earlier.c.id < c.id,
                    earlier.c.status == OutboundStatus.PENDING.value,
                )
                .correlate(messages),
            )
            .values(
                lease_until=bindparam("b_lease"),
                attempts=c.attempts + 1,
                updated_at=bindparam("b_now"),
            )
            .returning(*COLUMNS, owner, blocked)
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
                lease_until=None,
                updated_at=bindparam("b_now"),
            )
        )
        # An api channel's messages have no Graph API to go through: stored is delivered.
        self._deliver_here = (
            update(messages)
            .where(
                c.id.in_(bindparam("b_ids", expanding=True)),
                c.status == OutboundStatus.PENDING.value,
            )
            .values(
                status=OutboundStatus.DELIVERED.value,
                lease_until=None,
                updated_at=bindparam("b_now"),
            )
        )
        self._known_wamids = select(c.wamid).where(
            c.wamid.in_(bindparam("b_wamids", expanding=True))
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
                lease_until=None,
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
        self._next_own = (
            select(c.phone_number_id, c.contact, func.min(c.id))
            .where(
                OWN,
                c.status == OutboundStatus.PENDING.value,
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
        """Store new inbound messages (once per wamid) and every status; return the new ids to
        queue (those to a number no channel has are kept, not queued)."""
        return (await self.ingest(inbound, statuses, request_id)).queued

    async def ingest(
        self, inbound: Sequence[InboundMessage], statuses: Sequence[StatusUpdate], request_id: str
    ) -> Ingested:
        """Store a webhook: each new message in its channel, contact and conversation (see
        app/inbound/ingest.py), once per wamid; and every status."""
        ingested: Ingested = await self._writer.write(
            self._store_webhooks, _Webhook(inbound, statuses, request_id)
        )
        return ingested

    async def _store_webhooks(
        self, connection: AsyncConnection, webhooks: list[_Webhook]
    ) -> list[Ingested]:
        now = utcnow()
        # Two webhooks of one round may carry the same wamid (a redelivery): stored once, by the
        # first. Ids follow the order of arrival: one contact's messages are answered in order.
        fresh: dict[str, tuple[InboundMessage, str]] = {}
        for webhook in webhooks:
            for message in webhook.messages:
                fresh.setdefault(message.wamid, (message, webhook.request_id))
        ids: dict[str, int] = {}
        unrouted: set[str] = set()
        if fresh:
            # A redelivery is placed nowhere: it must not open a conversation or move one.
            for wamids in chunked(list(fresh)):
                stored = await connection.execute(self._known_wamids, {"b_wamids": wamids})
                for (wamid,) in stored.all():
                    del fresh[wamid]
        if fresh:
            new = list(fresh.values())
            placements = await place(
                connection, [m for m, _ in new], self.directory, self._recent, now
            )
            rows = [
                _inbound_row(message, request_id, placement, now)
                for (message, request_id), placement in zip(new, placements, strict=True)
            ]
            unrouted = {r["wamid"] for r in rows if r["status"] == InboundStatus.UNROUTED.value}
            inserted = await connection.execute(self._insert_inbound, rows)
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
            mine, kept = [], 0
            for message in webhook.messages:
                new_id = ids.pop(message.wamid, None)  # the first webhook with a wamid has it
                if new_id is None:
                    continue
                if message.wamid in unrouted:
                    kept += 1
                else:
                    mine.append(new_id)
            results.append(Ingested(sorted(mine), kept))
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
        """Take a message for processing, if it is the next one of its contact: an inbound
        message, or a pending message of its own (a member's).

        Wins for exactly one worker: the row must be unfinished and unleased (or its lease
        expired), and no earlier message of the same contact and kind may be unfinished.
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
            params = {"b_ids": sorted(ids), "b_now": now, "b_lease": _after(now, lease_seconds)}
            for row in (await connection.execute(self._claim, params)).mappings():
                claims[row["id"]] = _claim_of(row)
            # What the inbound claim did not take may be a message of its own (rarely asked).
            rest = sorted(ids - claims.keys())
            if rest:
                params["b_ids"] = rest
                for row in (await connection.execute(self._claim_own, params)).mappings():
                    claims[row["id"]] = _claim_of(row)
        self._count(INBOUND, InboundStatus.PROCESSING, sum(not c.own for c in claims.values()))
        inbound = sorted(id_ for id_, claim in claims.items() if not claim.own)
        if inbound:
            # Parts stored by an earlier attempt: sent as they are, never computed again.
            stored = await connection.execute(self._select_replies, {"b_ids": inbound})
            for row in stored.mappings():
                claims[row["reply_to_id"]].replies.append(_message(row))
        # A message asked for twice in one round is given to the first asker only.
        return [claims.pop(message_id, None) for message_id, _ in requests]

    async def extend_lease(self, message_id: int, lease_seconds: float) -> None:
        async def extend(connection: AsyncConnection) -> None:
            now = utcnow()
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id, _HELD)
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

    async def add_replies(
        self, inbound: Row, parts: Sequence[str], tracker: str | None
    ) -> list[Row]:
        """Store the reply's parts before sending them, so a retry sends the same text. They are
        the bot's messages in the inbound message's conversation, whose activity moves.

        The first part's send starts now: it is stored with its `tracker` (None: an api
        channel's reply, which is not sent anywhere).
        """
        stored: list[Row] = await self._writer.write(
            self._add_replies_many, (inbound, parts, tracker)
        )
        return stored

    async def _add_replies_many(
        self, connection: AsyncConnection, requests: list[tuple[Row, Sequence[str], str | None]]
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
                "tenant_id": inbound.tenant_id,
                "channel_id": inbound.channel_id,
                "conversation_id": inbound.conversation_id,
                "contact_id": inbound.contact_id,
                "sender": Sender.AI.value,
            }
            for inbound, parts, tracker in requests
            for index, part in enumerate(parts)
        ]
        inserted = await connection.execute(self._insert_replies, rows)
        await conversations.touch(
            connection,
            [i.conversation_id for i, _, _ in requests if i.conversation_id is not None],
            now,
        )
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
        owns = [a.own for a in accepted if a.own is not None]
        next_own = iter(await self._following_own(connection, owns) if owns else [])
        return [
            next(following) if a.ending is not None else next(next_own) if a.own else None
            for a in accepted
        ]

    async def _following_own(
        self, connection: AsyncConnection, ended: list[Row]
    ) -> list[int | None]:
        """Each ended message of its own's contact's next pending one."""
        pairs = sorted({(m.phone_number_id, m.contact) for m in ended})
        rows = await connection.execute(self._next_own, {"b_pairs": pairs})
        following = {(phone, contact): id_ for phone, contact, id_ in rows.all()}
        return [following.get((m.phone_number_id, m.contact)) for m in ended]

    # --- a message of its own (a member's), sent by a job of its own ------------------------------

    async def accept_own(self, message: Row, wamid: str) -> int | None:
        """Record the wamid Meta gave a message of its own (and any status that arrived before
        it); return its contact's next pending message of its own."""
        following: int | None = await self._writer.write(
            self._accept_many, _Accepted(message.id, wamid, None, None, own=message)
        )
        return following

    async def fail_own(self, message: Row, error_code: int | None, title: str) -> int | None:
        """A message of its own that will not go out (refused by the Graph API, or its contact
        blocked meanwhile); return its contact's next pending one."""

        async def record(connection: AsyncConnection) -> int | None:
            await connection.execute(
                self._fail_part,
                {"b_id": message.id, "b_code": error_code, "b_title": title, "b_now": utcnow()},
            )
            [following] = await self._following_own(connection, [message])
            return following

        following: int | None = await self._writer.write(self._each, record)
        return following

    async def deliver_here(
        self, parts: Sequence[Row], ending: Ending | None = None, own: Row | None = None
    ) -> int | None:
        """An api channel's messages: stored is delivered (the integration reads them from the
        conversation). With `ending`, the inbound message they answer ends, and its contact's
        next message is returned; with `own`, that message's contact's next one of its own."""

        async def record(connection: AsyncConnection) -> int | None:
            await connection.execute(
                self._deliver_here, {"b_ids": [p.id for p in parts], "b_now": utcnow()}
            )
            if ending is not None:
                return (await self._finish_many(connection, [ending]))[0]
            if own is not None:
                return (await self._following_own(connection, [own]))[0]
            return None

        following: int | None = await self._writer.write(self._each, record)
        return following

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
            c = messages.c
            released = await connection.execute(
                update(messages)
                .where(c.id.in_(message_ids), c.status == InboundStatus.PROCESSING.value)
                .values(status=InboundStatus.RECEIVED.value, lease_until=None)
            )
            self._count(INBOUND, InboundStatus.RECEIVED, released.rowcount)
            await connection.execute(
                update(messages)
                .where(c.id.in_(message_ids), OWN, c.status == OutboundStatus.PENDING.value)
                .values(lease_until=None)
            )

        await self._writer.write(self._each, release)

    async def _each(self, connection: AsyncConnection, writes: list[Write]) -> list[Any]:
        """Writes too rare to deserve a statement of their own kind: one after the other."""
        return [await write(connection) for write in writes]

    async def unfinished(self) -> int:
        """Messages whose job has not ended: inbound ones, and pending ones of their own."""
        async with self._sessions() as session:
            count = await session.scalar(select(func.count(Message.id)).where(UNFINISHED))
            return int(count or 0)

    async def resumable(self, stale_seconds: float | None, limit: int = 1000) -> list[int]:
        """Unfinished messages nobody holds (inbound ones, and pending ones of their own): their
        lease ran out, or they have waited unclaimed for `stale_seconds` (None: however briefly,
        for a start with an empty queue)."""
        now = utcnow()
        waiting: ColumnElement[bool] = Message.lease_until.is_(None)
        if stale_seconds is not None:
            waiting = and_(waiting, Message.updated_at < _after(now, -stale_seconds))
        async with self._sessions() as session:
            result = await session.scalars(
                select(Message.id)
                .where(UNFINISHED, or_(waiting, Message.lease_until < now))
                .order_by(Message.id)
                .limit(limit)
            )
            return list(result.all())

    # --- the management API ------------------------------------------------------------------

    async def counts(self, tenant_id: int | None = None) -> dict[str, dict[str, int]]:
        """How many messages stand in each status, per direction (of one tenant, or all)."""
        query = select(Message.direction, Message.status, func.count(Message.id)).group_by(
            Message.direction, Message.status
        )
        if tenant_id is not None:
            query = query.where(Message.tenant_id == tenant_id)
        async with self._sessions() as session:
            rows = await session.execute(query)
            counts: dict[str, dict[str, int]] = {d.value: {} for d in Direction}
            for direction, status, count in rows.all():
                counts[direction][status] = count
            return counts

    async def get(self, message_id: int, tenant_id: int | None = None) -> Message | None:
        """One message; with `tenant_id`, only one of that tenant's."""
        if message_id > self._largest_id:
            return None  # the id column cannot hold it: no row has it
        async with self._sessions() as session:
            message = await session.get(Message, message_id)
        if message is not None and tenant_id is not None and message.tenant_id != tenant_id:
            return None
        return message

    async def page(
        self,
        *,
        status: str | None,
        direction: str | None,
        limit: int,
        before_id: int | None,
        tenant_id: int | None = None,
    ) -> Page:
        query = select(Message).order_by(Message.id.desc()).limit(limit + 1)
        if tenant_id is not None:
            query = query.where(Message.tenant_id == tenant_id)
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
        """Put a failed message back in line; return the message to process again.

        A failed inbound message goes back with its unsent parts. A failed reply (refused by the
        Graph API, or reported failed by a status webhook) is sent again as a new message, and so
        is a failed message of its own (a member's).
        None when there was nothing failed to put back; then nothing is changed.
        """
        inbound_id = message.reply_to_id if message.reply_to_id is not None else message.id
        outbound = message.direction == Direction.OUTBOUND.value
        own = outbound and message.reply_to_id is None

        async def reopen(connection: AsyncConnection) -> int | None:
            now = utcnow()
            c = messages.c
            parts_filter = c.id == message.id if outbound else c.reply_to_id == inbound_id
            if own:
                # A message of its own is its own job: it goes back in line by itself.
                reset = await connection.execute(
                    self._reset_parts(parts_filter, now).values(attempts=0).returning(c.id)
                )
                return message.id if reset.first() is not None else None
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
                lease_until=None,
                updated_at=now,
            )
        )


def _inbound_row(
    message: InboundMessage, request_id: str, placement: Placement | None, now: datetime
) -> dict[str, Any]:
    status = InboundStatus.RECEIVED if placement is not None else InboundStatus.UNROUTED
    return {
        "direction": Direction.INBOUND.value,
        "wamid": message.wamid,
        "phone_number_id": message.phone_number_id,
        "contact": message.reply_to,
        "wa_id": message.wa_id,
        "user_id": message.user_id,
        "contact_name": message.name,
        "type": message.type,
        "text": message.text,
        "status": status.value,
        "attempts": 0,
        "request_id": request_id,
        "created_at": now,
        "updated_at": now,
        "tenant_id": placement.tenant_id if placement else None,
        "channel_id": placement.channel_id if placement else None,
        "contact_id": placement.contact_id if placement else None,
        "conversation_id": placement.conversation_id if placement else None,
        "sender": Sender.CONTACT.value,
    }


_FACTS = ("r_owner", "r_blocked")
# A message a worker may hold: an inbound one being processed, a pending one of its own.
_HELD = or_(
    messages.c.status == InboundStatus.PROCESSING.value,
    and_(OWN, messages.c.status == OutboundStatus.PENDING.value),
)


def _claim_of(row: Any) -> Claim:
    return Claim(_message(row), [], row["r_owner"], bool(row["r_blocked"]))


def _message(row: Any) -> Row:
    if "r_owner" in row:
        return Row(**{k: v for k, v in row.items() if k not in _FACTS})
    return Row(**row)


def _after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
