"""Status webhooks: outbound messages move forwards, never back, and trackers find their sends."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.core.db import chunked
from app.messages.common import (
    OUTBOUND,
    STATUS_CHUNK,
    RepositoryBase,
    Shared,
    events,
    messages,
)
from app.messages.models import OUTBOUND_RANK, Direction, OutboundStatus

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


class StatusRepository(RepositoryBase):
    """Status webhooks applied to outbound messages; the trackers' sends found again."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        c = messages.c
        moves_up = and_(
            c.wamid.in_(bindparam("b_wamids", expanding=True)),
            c.direction == Direction.OUTBOUND.value,
            bindparam("b_threshold") > _RANK,
        )
        self._apply_status = (
            update(messages)
            .where(moves_up)
            .values(status=bindparam("b_status"), updated_at=bindparam("b_now"))
            .returning(c.id)
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
            .returning(c.id)
        )
        self._by_tracker = (
            select(events.c.tracker, events.c.wamid)
            .where(events.c.tracker.in_(bindparam("b_trackers", expanding=True)))
            .order_by(events.c.id)
        )
        self._traceparents = select(c.traceparent).where(
            c.wamid.in_(bindparam("b_wamids", expanding=True)),
            c.direction == Direction.OUTBOUND.value,
            c.traceparent.is_not(None),
        )

    async def apply(
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
            moved = (await connection.execute(statement, {**params, "b_wamids": chunk})).all()
            self._count(OUTBOUND, status, len(moved))
            self._writer.add_events("message.status", [id_ for (id_,) in moved])

    async def traceparents(self, wamids: Sequence[str]) -> list[str]:
        """The trace contexts the outbound messages with these wamids were stored with (traces
        on), for a status webhook's span to link to."""
        found: list[str] = []
        async with self._engine.connect() as connection:
            for chunk in chunked(list(dict.fromkeys(wamids))):
                rows = await connection.execute(self._traceparents, {"b_wamids": chunk})
                found.extend(traceparent for (traceparent,) in rows.all())
        return found

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
