"""A job's writes: reply parts stored before they are sent, accepted and failed sends, endings."""

from collections.abc import Sequence

from sqlalchemy import (
    bindparam,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.conversations import repository as conversations
from app.core.clock import utcnow
from app.messages.common import (
    COLUMNS,
    INBOUND,
    OUTBOUND,
    OWN,
    Accepted,
    Ending,
    RepositoryBase,
    Shared,
    Start,
    events,
    messages,
    row_of,
)
from app.messages.models import (
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    MessageRow,
    OutboundStatus,
    Sender,
)
from app.statuses.repository import StatusRepository


class ReplyRepository(RepositoryBase):
    """A job's writes: reply parts, accepted and failed sends, how a message ended."""

    def __init__(self, shared: Shared, statuses: StatusRepository) -> None:
        super().__init__(shared)
        self._statuses = statuses
        dialect = shared.dialect
        c = messages.c
        self._insert_replies = (
            dialect.insert(messages)
            .on_conflict_do_nothing(index_elements=["reply_to_id", "part"])
            .returning(*COLUMNS)
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
                ignored_by_rule_id=bindparam("b_rule"),
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
                    "b_rule": e.ignored_by_rule_id,
                    "b_now": now,
                }
                for e in endings
            ],
        )
        for ending in endings:
            self._count(INBOUND, ending.status)
        # A message the bot did not answer (kept for a member, blocked, not a text, failed) says
        # so on the stream: the inbox marks it. A replied one needs no event of its own, the
        # reply's message.created shows it (and costs the hot path nothing more).
        self._writer.add_events(
            "message.status",
            [e.message.id for e in endings if e.status is not InboundStatus.REPLIED],
        )
        pairs = sorted({(e.message.phone_number_id, e.message.contact) for e in endings})
        rows = await connection.execute(self._following, {"b_pairs": pairs})
        following = {(phone, contact): id_ for phone, contact, id_ in rows.all()}
        return [following.get((e.message.phone_number_id, e.message.contact)) for e in endings]

    async def add_replies(
        self,
        inbound: MessageRow,
        parts: Sequence[str],
        tracker: str | None,
        agent_id: int | None = None,
    ) -> list[MessageRow]:
        """Store the reply's parts before sending them, so a retry sends the same text. They are
        the bot's messages in the inbound message's conversation, whose activity moves, written
        by the agent `agent_id`.

        The first part's send starts now: it is stored with its `tracker` (None: an api
        channel's reply, which is not sent anywhere).
        """
        stored: list[MessageRow] = await self._writer.write(
            self._add_replies_many, (inbound, parts, tracker, agent_id)
        )
        return stored

    async def _add_replies_many(
        self,
        connection: AsyncConnection,
        requests: list[tuple[MessageRow, Sequence[str], str | None, int | None]],
    ) -> list[list[MessageRow]]:
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
                "traceparent": inbound.traceparent,
                "tracker": tracker if index == 0 else None,
                "created_at": now,
                "updated_at": now,
                "tenant_id": inbound.tenant_id,
                "channel_id": inbound.channel_id,
                "conversation_id": inbound.conversation_id,
                "contact_id": inbound.contact_id,
                "sender": Sender.AI.value,
                "agent_id": agent_id,
            }
            for inbound, parts, tracker, agent_id in requests
            for index, part in enumerate(parts)
        ]
        inserted = await connection.execute(self._insert_replies, rows)
        await conversations.touch(
            connection,
            [i.conversation_id for i, *_ in requests if i.conversation_id is not None],
            now,
        )
        stored: dict[int, list[MessageRow]] = {}
        for row in inserted.mappings():
            stored.setdefault(row["reply_to_id"], []).append(row_of(row))
        self._count(OUTBOUND, OutboundStatus.PENDING, sum(map(len, stored.values())))
        # Only the parts inserted now: those of an earlier attempt had their event then.
        self._writer.add_events("message.created", [m.id for ms in stored.values() for m in ms])
        # Parts stored by an earlier attempt were not inserted again: read them.
        missing = [
            inbound.id
            for inbound, parts, *_ in requests
            if len(stored.get(inbound.id, [])) < len(parts)
        ]
        if missing:
            for id_ in missing:
                stored.pop(id_, None)
            found = await connection.execute(self._select_replies, {"b_ids": missing})
            for row in found.mappings():
                stored.setdefault(row["reply_to_id"], []).append(row_of(row))
        return [
            sorted(stored.get(inbound.id, []), key=lambda m: m.part or 0)
            for inbound, *_ in requests
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
            self._accept_many, Accepted(part_id, wamid, ending, then)
        )
        return following

    async def _accept_many(
        self, connection: AsyncConnection, accepted: list[Accepted]
    ) -> list[int | None]:
        now = utcnow()
        await connection.execute(
            self._accept, [{"b_id": a.part_id, "b_wamid": a.wamid, "b_now": now} for a in accepted]
        )
        self._count(OUTBOUND, OutboundStatus.ACCEPTED, len(accepted))
        self._writer.add_events("message.status", [a.part_id for a in accepted])
        early = await connection.execute(
            self._early_events, {"b_wamids": [a.wamid for a in accepted]}
        )
        await self._statuses.apply(connection, [tuple(row) for row in early.all()])
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
        self, connection: AsyncConnection, ended: list[MessageRow]
    ) -> list[int | None]:
        """Each ended message of its own's contact's next pending one."""
        pairs = sorted({(m.phone_number_id, m.contact) for m in ended})
        rows = await connection.execute(self._next_own, {"b_pairs": pairs})
        following = {(phone, contact): id_ for phone, contact, id_ in rows.all()}
        return [following.get((m.phone_number_id, m.contact)) for m in ended]

    # --- a message of its own (a member's), sent by a job of its own ------------------------------

    async def accept_own(self, message: MessageRow, wamid: str) -> int | None:
        """Record the wamid Meta gave a message of its own (and any status that arrived before
        it); return its contact's next pending message of its own."""
        following: int | None = await self._writer.write(
            self._accept_many, Accepted(message.id, wamid, None, None, own=message)
        )
        return following

    async def fail_own(self, message: MessageRow, error_code: int | None, title: str) -> int | None:
        """A message of its own that will not go out (refused by the Graph API, or its contact
        blocked meanwhile); return its contact's next pending one."""

        async def record(connection: AsyncConnection) -> int | None:
            failed = await connection.execute(
                self._fail_part,
                {"b_id": message.id, "b_code": error_code, "b_title": title, "b_now": utcnow()},
            )
            self._count(OUTBOUND, OutboundStatus.FAILED, failed.rowcount)
            self._writer.add_events("message.status", [message.id])
            [following] = await self._following_own(connection, [message])
            return following

        following: int | None = await self._writer.write(self._each, record)
        return following

    async def deliver_here(
        self,
        parts: Sequence[MessageRow],
        ending: Ending | None = None,
        own: MessageRow | None = None,
    ) -> int | None:
        """An api channel's messages: stored is delivered (the integration reads them from the
        conversation). With `ending`, the inbound message they answer ends, and its contact's
        next message is returned; with `own`, that message's contact's next one of its own."""

        async def record(connection: AsyncConnection) -> int | None:
            delivered = await connection.execute(
                self._deliver_here, {"b_ids": [p.id for p in parts], "b_now": utcnow()}
            )
            self._count(OUTBOUND, OutboundStatus.DELIVERED, delivered.rowcount)
            self._writer.add_events("message.status", [p.id for p in parts])
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
            self._writer.add_events("message.status", [part_id])
            [following] = await self._finish_many(connection, [ending])
            return following

        following: int | None = await self._writer.write(self._each, record)
        return following
