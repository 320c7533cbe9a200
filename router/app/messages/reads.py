"""The management API's side: counts, pages, one message, and putting a failed one back in line."""

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.messages.common import (
    INBOUND,
    OUTBOUND,
    MessageSlice,
    RepositoryBase,
    messages,
)
from app.messages.models import (
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
)

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


class ManagementReads(RepositoryBase):
    """The management API's reads (counts, pages, one message) and its retry."""

    async def counts(
        self, tenant_id: int | None = None, channel_ids: frozenset[int] | None = None
    ) -> dict[str, dict[str, int]]:
        """How many messages stand in each status, per direction (of one tenant, or all; on
        `channel_ids` only, unless None)."""
        query = _seen(
            select(Message.direction, Message.status, func.count(Message.id)).group_by(
                Message.direction, Message.status
            ),
            tenant_id,
            channel_ids,
        )
        async with self._sessions() as session:
            rows = await session.execute(query)
            counts: dict[str, dict[str, int]] = {d.value: {} for d in Direction}
            for direction, status, count in rows.all():
                counts[direction][status] = count
            return counts

    async def get(
        self,
        message_id: int,
        tenant_id: int | None = None,
        channel_ids: frozenset[int] | None = None,
    ) -> Message | None:
        """One message; with `tenant_id`, only one of that tenant's (and with `channel_ids`, of
        those numbers)."""
        if message_id > self._largest_id:
            return None  # the id column cannot hold it: no row has it
        async with self._sessions() as session:
            message = await session.get(Message, message_id)
        if message is None or (tenant_id is not None and message.tenant_id != tenant_id):
            return None
        if channel_ids is not None and message.channel_id not in channel_ids:
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
        channel_ids: frozenset[int] | None = None,
    ) -> MessageSlice:
        query = _seen(
            select(Message).order_by(Message.id.desc()).limit(limit + 1), tenant_id, channel_ids
        )
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
        return MessageSlice(items, items[-1].id if more and items else None)

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
                if reset.first() is None:
                    return None
                self._count(OUTBOUND, OutboundStatus.PENDING)
                return message.id
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


def _seen(query: S, tenant_id: int | None, channel_ids: frozenset[int] | None) -> S:
    """The messages a caller sees: of `tenant_id` (None: every tenant's), on `channel_ids`
    (None: every number)."""
    if tenant_id is not None:
        query = query.where(Message.tenant_id == tenant_id)
    if channel_ids is not None:
        query = query.where(Message.channel_id.in_(sorted(channel_ids)))
    return query
