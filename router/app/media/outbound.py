"""A member's file sent: stored before its message was (app/media/uploads.py), uploaded by the job
to the number's `/media`, then sent by the id Meta returns, with the tracker, rate limit, retries
and statuses of any message.

The id is stored before the send starts, so a retry (or a job resumed after a crash) sends the
same id and never uploads twice. A file given as a public link is sent by its link: Meta fetches it.
"""

import structlog
from pydantic import SecretStr

from app.core.errors import SendFailed, SendRetryable
from app.media.attachment import STORED
from app.media.blobs import BlobMissing, BlobStore
from app.media.graph import MediaGraph, MediaRefused, MediaUnavailable
from app.media.repository import MediaRepository
from app.messages.models import MessageRow
from app.outbound.sender import GraphSender

log = structlog.get_logger()


class MediaSender:
    def __init__(
        self,
        graph: MediaGraph,
        store: BlobStore,
        repository: MediaRepository,
        sender: GraphSender,
        default_token: SecretStr,
    ) -> None:
        self._graph = graph
        self._store = store
        self._repository = repository
        self._sender = sender
        self._default_token = default_token

    async def send(self, part: MessageRow, tracker: str, token: str | None) -> str:
        """Upload the part's file unless Meta has it already, then send it; its wamid."""
        current = await self._repository.attachment(part.id)
        if current is None:
            raise SendFailed(None, "the message's file is not stored")
        kind = current["kind"]
        media = current.get("link") or current.get("media_id")
        if media is None:
            media = await self._upload(part, current, token)
        return await self._sender.send_media(
            part.phone_number_id,
            part.contact,
            kind,
            str(media),
            tracker,
            caption=current.get("caption"),
            filename=current.get("filename"),
            access_token=token,
        )

    async def _upload(self, part: MessageRow, current: dict[str, object], token: str | None) -> str:
        key = current.get("key")
        if current.get("state") != STORED or not isinstance(key, str):
            raise SendFailed(None, "the message's file is not stored")
        mime_type = str(current.get("mime_type") or "application/octet-stream")
        try:
            async with self._store.as_file(key) as path:
                media_id = await self._graph.upload(
                    part.phone_number_id,
                    token or self._default_token.get_secret_value(),
                    path,
                    mime_type,
                    str(current.get("filename") or f"file.{current['kind']}"),
                )
        except BlobMissing:
            raise SendFailed(None, "the message's file is gone from the media store") from None
        except MediaUnavailable as exc:
            raise SendRetryable(str(exc)) from None
        except MediaRefused as exc:
            raise SendFailed(None, str(exc)) from None
        except Exception as exc:  # the media store down: worth another try
            raise SendRetryable(
                f"the media store could not give the file ({type(exc).__name__})"
            ) from exc
        # Kept before the send starts: a retry sends this id, it never uploads again.
        await self._repository.save(part.id, {**current, "media_id": media_id})
        log.info("media.uploaded", kind=current["kind"], size=current.get("file_size"))
        return media_id
