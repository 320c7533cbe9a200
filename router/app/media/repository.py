"""The writes and reads of attachments: a message's file moving from pending to stored or failed
(one statement, through the message path's writer, with a `message.status` event so a stream shows
the change), and the blob keys of what is about to be deleted."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.media.attachment import dumps, loads
from app.messages.common import RepositoryBase, messages


class MediaRepository(RepositoryBase):
    async def save(self, message_id: int, attachment: dict[str, Any]) -> None:
        """Store the message's attachment as it now stands."""
        stored = dumps(attachment)

        async def write(connection: AsyncConnection) -> None:
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(attachment=stored, updated_at=utcnow())
            )
            self._writer.add_events("message.status", [message_id])

        await self._writer.write(self._each, write)

    async def pending_in_turn(self, last_id: int) -> list[int]:
        """The messages of the turn ending with `last_id` whose file may still be pending."""
        async with self._engine.connect() as connection:
            found = await connection.scalars(
                select(messages.c.id)
                .where(messages.c.turn_id == last_id, messages.c.attachment.is_not(None))
                .order_by(messages.c.id)
            )
            return list(found.all())

    async def attachment(self, message_id: int) -> dict[str, Any] | None:
        """The attachment as the store has it now (a retry reads what an earlier attempt saved)."""
        async with self._engine.connect() as connection:
            found = await connection.scalar(
                select(messages.c.attachment).where(messages.c.id == message_id)
            )
        return loads(found)


async def served(connection: AsyncConnection, message_id: int) -> Any:
    """What serving a message's file needs: its tenant, its channel, its attachment (or None)."""
    if connection.dialect.name == "postgresql" and message_id > 2**31 - 1:
        return None  # `messages.id` is 32-bit there: no row has it (and asyncpg would refuse it)
    found = await connection.execute(
        select(messages.c.tenant_id, messages.c.channel_id, messages.c.attachment).where(
            messages.c.id == message_id
        )
    )
    return found.one_or_none()


def keys_in(attachments: Iterable[str | None]) -> list[str]:
    """The blob keys of stored attachments."""
    keys = []
    for stored in attachments:
        found = loads(stored)
        if found is not None and found.get("key"):
            keys.append(str(found["key"]))
    return keys


async def keys_where(connection: AsyncConnection, condition: ColumnElement[bool]) -> list[str]:
    """The blob keys of the messages `condition` selects (those about to be deleted)."""
    rows = await connection.scalars(
        select(messages.c.attachment).where(condition, messages.c.attachment.is_not(None))
    )
    return keys_in(rows.all())


async def erase_files(
    connection: AsyncConnection, tenant_id: int, contact_id: int, reason: str
) -> tuple[list[int], list[str]]:
    """Mark every file of a contact's messages (both directions) erased; the messages whose
    attachment changed, and the blob keys to delete once this commits."""
    rows = await connection.execute(
        select(messages.c.id, messages.c.attachment).where(
            messages.c.tenant_id == tenant_id,
            messages.c.contact_id == contact_id,
            messages.c.attachment.is_not(None),
        )
    )
    changed, keys = [], []
    for message_id, stored in rows.all():
        found = loads(stored)
        if found is None or not found.get("key"):
            continue
        keys.append(str(found["key"]))
        erased = {**found, "state": "failed", "error": reason, "key": None, "media_id": None}
        await connection.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(attachment=dumps(erased), updated_at=utcnow())
        )
        changed.append(message_id)
    return changed, keys
