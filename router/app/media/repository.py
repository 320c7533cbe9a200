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

    async def attachment(self, message_id: int) -> dict[str, Any] | None:
        """The attachment as the store has it now (a retry reads what an earlier attempt saved)."""
        async with self._engine.connect() as connection:
            found = await connection.scalar(
                select(messages.c.attachment).where(messages.c.id == message_id)
            )
        return loads(found)


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
