"""Burst debounce's turns (app/routing/turns.py): what a contact's burst is made of, and the turn
written once, in one transaction, by the job that holds its first message."""

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.messages.common import (
    COLUMNS,
    INBOUND,
    Claim,
    RepositoryBase,
    Shared,
    after,
    claim_facts,
    claim_of,
    messages,
)
from app.messages.models import UNFINISHED_INBOUND, InboundStatus, MessageRow
from app.routing.turns import MAX_TURN_MESSAGES, Waiting


class TurnRepository(RepositoryBase):
    """Burst debounce's turns: a contact's burst, read and written once as one turn."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        c = messages.c
        of_contact = (
            c.direction == INBOUND,
            c.phone_number_id == bindparam("b_phone"),
            c.contact == bindparam("b_contact"),
        )
        self._waiting = (
            select(c.id, c.conversation_id, c.created_at, c.text)
            .where(*of_contact, c.id >= bindparam("b_from"), c.status.in_(UNFINISHED_INBOUND))
            .order_by(c.id)
            .limit(MAX_TURN_MESSAGES)
        )
        self._turn_texts = (
            select(c.text).where(*of_contact, c.turn_id == bindparam("b_last")).order_by(c.id)
        )
        # Written once: by the job that holds the turn's first message, while it is not in one.
        self._turn_head = (
            update(messages)
            .where(
                c.id == bindparam("b_id"),
                c.turn_id.is_(None),
                c.status == InboundStatus.PROCESSING.value,
            )
            .values(turn_id=bindparam("b_last"), updated_at=bindparam("b_now"))
        )
        self._turn_earlier = (
            update(messages)
            .where(c.id.in_(bindparam("b_ids", expanding=True)), c.status.in_(UNFINISHED_INBOUND))
            .values(
                status=InboundStatus.IN_TURN.value,
                turn_id=bindparam("b_last"),
                lease_until=None,
                updated_at=bindparam("b_now"),
            )
        )
        owner, blocked = claim_facts()
        self._turn_last = (
            update(messages)
            .where(c.id == bindparam("b_last"), c.status.in_(UNFINISHED_INBOUND))
            .values(
                status=InboundStatus.PROCESSING.value,
                turn_id=bindparam("b_last"),
                lease_until=bindparam("b_lease"),
                attempts=c.attempts + bindparam("b_taken"),
                updated_at=bindparam("b_now"),
            )
            .returning(*COLUMNS, owner, blocked)
        )

    async def waiting(self, head: MessageRow) -> list[Waiting]:
        """`head`'s contact's unfinished inbound messages from `head` on, oldest first: what its
        turn is made of."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                self._waiting,
                {"b_phone": head.phone_number_id, "b_contact": head.contact, "b_from": head.id},
            )
            return [Waiting(*row) for row in rows.all()]

    async def turn_texts(self, last: MessageRow) -> list[str | None]:
        """The texts of the turn whose last message is `last`, in order."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                self._turn_texts,
                {"b_phone": last.phone_number_id, "b_contact": last.contact, "b_last": last.id},
            )
            return [text for (text,) in rows.all()]

    async def form_turn(
        self, head: MessageRow, ids: Sequence[int], lease_seconds: float
    ) -> Claim | None:
        """Write a turn (its messages' ids, oldest first; `head`, held by the caller, is the
        first): each names the last in `turn_id`, the earlier ones end `in_turn`, and the last
        is held by the caller now, for `lease_seconds`. One transaction. None when the turn was
        written already (the caller's lease ran out and another job took `head` over)."""
        if not ids or ids[0] != head.id:
            return None

        async def record(connection: AsyncConnection) -> Claim | None:
            now = utcnow()
            last = ids[-1]
            taken = await connection.execute(
                self._turn_head, {"b_id": head.id, "b_last": last, "b_now": now}
            )
            if taken.rowcount != 1:
                return None
            if len(ids) > 1:
                ended = await connection.execute(
                    self._turn_earlier, {"b_ids": list(ids[:-1]), "b_last": last, "b_now": now}
                )
                self._count(INBOUND, InboundStatus.IN_TURN, ended.rowcount)
                self._count(INBOUND, InboundStatus.PROCESSING)
                if ended.rowcount:
                    # Their end shows in the inbox as any inbound's end does.
                    self._writer.add_events("message.status", ids[:-1])
            held = await connection.execute(
                self._turn_last,
                {
                    "b_last": last,
                    "b_lease": after(now, lease_seconds),
                    "b_taken": int(last != head.id),
                    "b_now": now,
                },
            )
            row = held.mappings().first()
            if row is None:  # rolls the turn back: the caller's job fails, as on a crash
                raise RuntimeError(f"message {last}, the turn's last, was finished meanwhile")
            return claim_of(row)

        formed: Claim | None = await self._writer.write(self._each, record)
        return formed
