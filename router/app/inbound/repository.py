"""The webhook's writes: new messages placed in their conversations, and every status."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.core.db import chunked
from app.inbound.ingest import Placement, place
from app.inbound.payload import InboundMessage, StatusUpdate
from app.messages.common import (
    INBOUND,
    Ingested,
    RepositoryBase,
    Shared,
    Webhook,
    events,
    messages,
)
from app.messages.models import Direction, InboundStatus, Sender
from app.statuses.repository import StatusRepository


class InboundRepository(RepositoryBase):
    """A webhook's writes: new messages placed in their conversations, and its statuses."""

    def __init__(self, shared: Shared, statuses: StatusRepository) -> None:
        super().__init__(shared)
        self._statuses = statuses
        dialect = shared.dialect
        c = messages.c
        self._insert_inbound = (
            dialect.insert(messages)
            .on_conflict_do_nothing(index_elements=["wamid"])
            .returning(c.id, c.wamid)
        )
        self._insert_event = dialect.insert(events).on_conflict_do_nothing(
            index_elements=["wamid", "status"]
        )
        self._known_wamids = select(c.wamid).where(
            c.wamid.in_(bindparam("b_wamids", expanding=True))
        )

    async def store_webhook(
        self, inbound: Sequence[InboundMessage], statuses: Sequence[StatusUpdate], request_id: str
    ) -> list[int]:
        """Store new inbound messages (once per wamid) and every status; return the new ids to
        queue (those to a number no channel has are kept, not queued)."""
        return (await self.ingest(inbound, statuses, request_id)).queued

    async def ingest(
        self,
        inbound: Sequence[InboundMessage],
        statuses: Sequence[StatusUpdate],
        request_id: str,
        traceparent: str | None = None,
    ) -> Ingested:
        """Store a webhook: each new message in its channel, contact and conversation (see
        app/inbound/ingest.py), once per wamid, with the webhook's trace context (traces on);
        and every status."""
        ingested: Ingested = await self._writer.write(
            self._store_webhooks, Webhook(inbound, statuses, request_id, traceparent)
        )
        return ingested

    async def _store_webhooks(
        self, connection: AsyncConnection, webhooks: list[Webhook]
    ) -> list[Ingested]:
        now = utcnow()
        # Two webhooks of one round may carry the same wamid (a redelivery): stored once, by the
        # first. Ids follow the order of arrival: one contact's messages are answered in order.
        fresh: dict[str, tuple[InboundMessage, Webhook]] = {}
        for webhook in webhooks:
            for message in webhook.messages:
                fresh.setdefault(message.wamid, (message, webhook))
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
            moved: list[int] = []
            placements = await place(
                connection, [m for m, _ in new], self.directory, self._recent, now, moved
            )
            self._writer.add_events("contact.updated", moved)
            rows = [
                _inbound_row(message, webhook, placement, now)
                for (message, webhook), placement in zip(new, placements, strict=True)
            ]
            unrouted = {r["wamid"] for r in rows if r["status"] == InboundStatus.UNROUTED.value}
            inserted = await connection.execute(self._insert_inbound, rows)
            ids = {wamid: id_ for id_, wamid in inserted.all()}
            kept = sum(wamid in unrouted for wamid in ids)
            self._count(INBOUND, InboundStatus.RECEIVED, len(ids) - kept)
            self._count(INBOUND, InboundStatus.UNROUTED, kept)
            placed = [
                (ids[row["wamid"]], placement)
                for row, placement in zip(rows, placements, strict=True)
                if placement is not None and row["wamid"] in ids
            ]
            self._writer.add_events(
                "conversation.created", [p.conversation_id for _, p in placed if p.opened]
            )
            self._writer.add_events("message.created", [id_ for id_, _ in placed])
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
            await self._statuses.apply(
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


def _inbound_row(
    message: InboundMessage, webhook: Webhook, placement: Placement | None, now: datetime
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
        "request_id": webhook.request_id,
        "traceparent": webhook.traceparent,
        "created_at": now,
        "updated_at": now,
        "tenant_id": placement.tenant_id if placement else None,
        "channel_id": placement.channel_id if placement else None,
        "contact_id": placement.contact_id if placement else None,
        "conversation_id": placement.conversation_id if placement else None,
        "sender": Sender.CONTACT.value,
        "attachment": message.attachment,
    }
