"""Job leases: a worker takes a contact's next message, holds it, gives it back."""

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.messages.common import (
    COLUMNS,
    HELD,
    INBOUND,
    OWN,
    UNFINISHED,
    Claim,
    RepositoryBase,
    Shared,
    after,
    claim_facts,
    claim_of,
    messages,
    row_of,
)
from app.messages.models import (
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
)


class LeaseRepository(RepositoryBase):
    """Job leases: a message claimed, held, released; what a restart resumes."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        c = messages.c
        earlier = messages.alias("earlier")
        # Read in the claim itself: a handover or a block counts from the very next message.
        owner, blocked = claim_facts()
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
            params = {"b_ids": sorted(ids), "b_now": now, "b_lease": after(now, lease_seconds)}
            for row in (await connection.execute(self._claim, params)).mappings():
                claims[row["id"]] = claim_of(row)
            # What the inbound claim did not take may be a message of its own (rarely asked).
            rest = sorted(ids - claims.keys())
            if rest:
                params["b_ids"] = rest
                for row in (await connection.execute(self._claim_own, params)).mappings():
                    claims[row["id"]] = claim_of(row)
        self._count(INBOUND, InboundStatus.PROCESSING, sum(not c.own for c in claims.values()))
        inbound = sorted(id_ for id_, claim in claims.items() if not claim.own)
        if inbound:
            # Parts stored by an earlier attempt: sent as they are, never computed again.
            stored = await connection.execute(self._select_replies, {"b_ids": inbound})
            for row in stored.mappings():
                claims[row["reply_to_id"]].replies.append(row_of(row))
        # A message asked for twice in one round is given to the first asker only.
        return [claims.pop(message_id, None) for message_id, _ in requests]

    async def extend_lease(self, message_id: int, lease_seconds: float) -> None:
        async def extend(connection: AsyncConnection) -> None:
            now = utcnow()
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id, HELD)
                .values(lease_until=after(now, lease_seconds), updated_at=now)
            )

        await self._writer.write(self._each, extend)

    async def keep(self, message_ids: Sequence[int], lease_seconds: float) -> None:
        """Hold the messages of jobs still running for `lease_seconds` from now; a lease a wait
        made longer stays as it is, and a message no longer held is left alone."""

        async def keep(connection: AsyncConnection) -> None:
            c = messages.c
            until = after(utcnow(), lease_seconds)
            await connection.execute(
                update(messages)
                .where(c.id.in_(message_ids), HELD, c.lease_until < until)
                .values(lease_until=until)
            )

        await self._writer.write(self._each, keep)

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
            waiting = and_(waiting, Message.updated_at < after(now, -stale_seconds))
        async with self._sessions() as session:
            result = await session.scalars(
                select(Message.id)
                .where(UNFINISHED, or_(waiting, Message.lease_until < now))
                .order_by(Message.id)
                .limit(limit)
            )
            return list(result.all())
