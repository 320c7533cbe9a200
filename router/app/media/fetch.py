"""An inbound message's file, fetched in the message's job (never in the webhook's request): the
URL asked of the Graph API with the number's own token, the bytes downloaded with it, checked
against Meta's sha256 (the webhook's base64, the lookup's hex) and its kind's size limit, and put
in the blob store under a key of the message's tenant.

A transient failure (a timeout, a 5xx, an expired URL) is retried with the message's backoff, each
attempt asking for a fresh URL (Meta's lives 5 minutes). A file that is too big, empty, not what
its type says, or whose checksum differs, or that cannot be fetched in the retries' bounds, leaves
the message stored with its media `failed` and the reason; the message is routed and answered as
it would be anyway (its caption is its text).
"""

from typing import Any

import structlog
from pydantic import SecretStr

from app.channels.directory import ChannelDirectory
from app.jobs.retries import Attempts
from app.media.attachment import FAILED, PENDING, STORED, loads
from app.media.blobs import BlobStore, new_key, spool_file
from app.media.graph import MediaGraph, MediaRefused, MediaUnavailable
from app.media.kinds import MAX_BYTES, MEDIA_KINDS, matches_signature
from app.media.repository import MediaRepository
from app.messages.models import MessageRow

log = structlog.get_logger()


class MediaFetcher:
    def __init__(
        self,
        graph: MediaGraph,
        store: BlobStore,
        repository: MediaRepository,
        directory: ChannelDirectory,
        default_token: SecretStr,
    ) -> None:
        self._graph = graph
        self._store = store
        self._repository = repository
        self._directory = directory
        self._default_token = default_token

    async def fetch(self, message: MessageRow, attempts: Attempts, blocked: bool) -> None:
        """Fetch the message's file if it is still pending; never raises for the file's sake."""
        stored = loads(message.attachment)
        if stored is None or stored.get("kind") not in MEDIA_KINDS or message.tenant_id is None:
            return
        await self._fetch(message, message.id, message.tenant_id, attempts, blocked)

    async def fetch_turn(self, last: MessageRow, attempts: Attempts) -> None:
        """The files of a burst gathered into one turn (app/routing/turns.py): the messages after
        the first never ran a job of their own. Fetched under the turn's last message's lease."""
        if last.tenant_id is None:
            return
        for message_id in await self._repository.pending_in_turn(last.id):
            await self._fetch(last, message_id, last.tenant_id, attempts, blocked=False)

    async def _fetch(
        self,
        held: MessageRow,
        message_id: int,
        tenant_id: int,
        attempts: Attempts,
        blocked: bool,
    ) -> None:
        """Fetch message `message_id`'s file while the job holds `held` (the same message, or
        the last of its turn: the same number and contact)."""
        current = await self._repository.attachment(message_id)  # an earlier attempt's outcome
        if current is None or current.get("state") != PENDING:
            return
        if blocked:
            await self._end(message_id, current, "not fetched: the contact is blocked")
            return
        route = await self._directory.route(held.phone_number_id)
        token = (route.access_token if route is not None else None) or (
            self._default_token.get_secret_value()
        )
        try:
            done = await attempts.run(held, lambda: self._once(current, token, tenant_id))
        except (MediaRefused, MediaUnavailable) as exc:
            await self._end(message_id, current, str(exc))
            return
        except Exception as exc:  # the file's failure, never the message's
            log.exception("media.crashed")
            await self._end(message_id, current, f"router error: {type(exc).__name__}")
            return
        await self._repository.save(message_id, done)
        log.info("media.stored", kind=done["kind"], size=done["file_size"])

    async def _end(self, message_id: int, current: dict[str, Any], reason: str) -> None:
        log.warning("media.failed", kind=current.get("kind"), reason=reason)
        await self._repository.save(message_id, {**current, "state": FAILED, "error": reason})

    async def _once(self, current: dict[str, Any], token: str, tenant_id: int) -> dict[str, Any]:
        kind = current["kind"]
        limit = MAX_BYTES[kind]
        info = await self._graph.lookup(current["media_id"], token)
        if info.file_size is not None and info.file_size > limit:
            raise MediaRefused(f"the file is {info.file_size} bytes, over the {kind} limit {limit}")
        path = spool_file(self._store.spool)
        got = await self._graph.download(info.url, token, path, limit)
        try:
            if got.size == 0:
                raise MediaRefused("the file is empty")
            for said in {current.get("sha256"), info.sha256} - {None}:
                if said != got.sha256:
                    raise MediaRefused(
                        f"sha256 mismatch: Meta gave {said}, the bytes are {got.sha256}"
                    )
            mime_type = info.mime_type or current.get("mime_type") or "application/octet-stream"
            if kind in {"image", "sticker"} and not matches_signature(mime_type, got.head):
                raise MediaRefused(f"the bytes are not a {mime_type} file")
            key = new_key(tenant_id)
            try:
                await self._store.put(key, path, mime_type)
            except Exception as exc:  # the store down or refusing: worth another try
                raise MediaUnavailable(
                    f"the media store did not take the file ({type(exc).__name__})"
                ) from exc
        finally:
            path.unlink(missing_ok=True)
        return {
            **current,
            "mime_type": mime_type,
            "file_size": got.size,
            "sha256": got.sha256,
            "state": STORED,
            "error": None,
            "key": key,
        }
