"""`GET /api/v1/messages/{id}/media`: a message's file, for its tenant's keys, members and
tickets (a browser's `<img>` or `<audio>` cannot set headers: `?ticket=`, as the event stream)."""

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.auth.principal import ContactsScope
from app.contacts import service as contacts
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, RangeNotSatisfiable, answers, declared
from app.core.ids import IdPath
from app.events import service as events
from app.events.endpoints import StreamScope
from app.events.repository import Change
from app.events.schemas import EventType
from app.lifespan import MediaStoreDep
from app.media import repository
from app.media.attachment import STORED, loads
from app.media.blobs import BlobMissing, delete_quietly
from app.media.kinds import MEDIA_KINDS

router = APIRouter(prefix="/api/v1/messages", tags=["messages"], responses=answers(NotFound))
contacts_router = APIRouter(
    prefix="/api/v1/contacts", tags=["contacts"], responses=answers(NotFound)
)

MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RangeHeader = Annotated[
    str | None,
    Header(
        alias="Range",
        max_length=200,
        description="one byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`): 206",
    ),
]
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")
# Shown in the page (`inline`); any other type is downloaded, never rendered by the browser on the
# router's origin.
_INLINE = re.compile(r"(image/(jpeg|png|webp|gif)|audio/[a-z0-9.+-]+|video/[a-z0-9.+-]+)")

_FILE = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    "description": "the file, with its Content-Type, Content-Length and Content-Disposition",
}


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive range a Range header asks of `size` bytes; None for the whole file (no header,
    or one this does not serve: several ranges, another unit). 416 past the end."""
    if header is None:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # the last N bytes
        count = int(last)
        if count == 0:
            raise RangeNotSatisfiable(f"the file is {size} bytes", _unsatisfied(size))
        return max(size - count, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(
            f"the range starts past the file's {size} bytes", _unsatisfied(size)
        )
    return start, end


def _unsatisfied(size: int) -> dict[str, str]:
    return {"Content-Range": f"bytes */{size}"}


def disposition(kind: str, mime_type: str, filename: str | None) -> str:
    shown = "inline" if _INLINE.fullmatch(mime_type) and kind != "document" else "attachment"
    if filename is None:
        return shown
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"{shown}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/{message_id}/media",
    response_class=StreamingResponse,
    responses={
        200: _FILE,
        206: {**_FILE, "description": "the part the Range header asked for"},
        **declared(Conflict, RangeNotSatisfiable),
    },
)
async def get_media(
    message_id: MessageId,
    scope: StreamScope,
    session: SessionDep,
    store: MediaStoreDep,
    range_: RangeHeader = None,
) -> StreamingResponse:
    """A message's file (an image, video, audio, document or sticker); `Range` for a part. 409
    while it is pending or once it failed (the reason in the message)."""
    row = await repository.served(await session.connection(), message_id)
    await session.commit()  # the connection goes back before the file streams
    missing = NotFound(f"no file in message {message_id}")
    if row is None or row.tenant_id != scope.tenant_id:
        raise missing
    if row.channel_id is not None and not scope.principal.sees(row.channel_id):
        raise missing
    stored: dict[str, Any] | None = loads(row.attachment)
    if stored is None or stored.get("kind") not in MEDIA_KINDS:
        raise missing
    if stored.get("state") != STORED or not stored.get("key"):
        reason = stored.get("error") or (
            "it is sent by its link (Meta fetches it): no copy is kept here"
            if stored.get("link")
            else "it has not been fetched yet"
        )
        raise Conflict(f"message {message_id}'s file is {stored.get('state')}: {reason}")
    key = str(stored["key"])
    try:
        size = await store.size(key)
    except BlobMissing:
        raise NotFound(f"message {message_id}'s file is gone from the media store") from None
    if size == 0:
        raise NotFound(f"message {message_id}'s file is empty")
    wanted = byte_range(range_, size)
    start, end = wanted or (0, size - 1)
    mime_type = str(stored.get("mime_type") or "application/octet-stream")
    headers = {
        "Content-Length": str(end - start + 1),
        "Content-Disposition": disposition(stored["kind"], mime_type, stored.get("filename")),
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        store.read(key, start, end),
        status_code=206 if wanted is not None else 200,
        media_type=mime_type,
        headers=headers,
    )


class FilesErased(BaseModel):
    erased: int = Field(description="how many files were deleted from the media store")


ERASED = "erased: the contact's files were deleted"


@contacts_router.delete("/{contact_id}/media")
async def erase_contact_files(
    contact_id: IdPath, scope: ContactsScope, session: SessionDep, store: MediaStoreDep
) -> FilesErased:
    """Delete every file the contact sent or was sent from the media store (an owner's or an
    admin's key): the messages stay, their `media` `failed` with the reason."""
    await contacts.get(session, scope.tenant_id, contact_id)  # 404 for another tenant's
    changed, keys = await repository.erase_files(
        await session.connection(), scope.tenant_id, contact_id, ERASED
    )
    await events.record(
        session, *[Change(scope.tenant_id, EventType.MESSAGE_STATUS, id_) for id_ in changed]
    )
    await session.commit()
    await delete_quietly(store, keys)  # the rows no longer name them
    return FilesErased(erased=len(keys))
