"""The message path: accept what a webhook brought, then route, ask the backend and send."""

import httpx
import structlog
from pywa_async.errors import WhatsAppError

from app.backend import Backend
from app.dispatch import Dispatcher, RecentIds
from app.errors import BackendError
from app.payload import InboundMessage, ParsedBody, StatusUpdate
from app.sender import Sender

log = structlog.get_logger()


class Pipeline:
    def __init__(
        self, backend: Backend, sender: Sender, dispatcher: Dispatcher, seen: RecentIds
    ) -> None:
        self._backend = backend
        self._sender = sender
        self._dispatcher = dispatcher
        self._seen = seen

    def accept(self, body: ParsedBody) -> tuple[int, int]:
        """Queue each new message of a body; returns (new, duplicates). Does no I/O."""
        new = [m for m in body.messages if self._seen.add(m.wamid)]
        for message in new:
            log.info("message.received", wamid=message.wamid, type=message.type)
        for status in body.statuses:
            self._record_status(status)
        if new:
            self._dispatcher.submit(self._handle_in_order(new))
        return len(new), len(body.messages) - len(new)

    async def _handle_in_order(self, messages: list[InboundMessage]) -> None:
        for message in messages:
            with structlog.contextvars.bound_contextvars(wamid=message.wamid):
                await self.handle(message)

    async def handle(self, message: InboundMessage) -> None:
        if message.type != "text" or message.text is None:
            log.info("message.not_answered", type=message.type, reason="not a text message")
            return
        request_id = structlog.contextvars.get_contextvars().get("request_id", message.wamid)
        try:
            reply = await self._backend.reply_for(message.text, request_id=str(request_id))
        except BackendError as exc:
            log.warning("message.backend_failed", reason=str(exc))
            return
        try:
            await self._sender.send_text(message.reply_to, reply)
        except WhatsAppError as exc:
            log.warning("message.send_failed", error_code=exc.code, reason=exc.message)
        except httpx.HTTPError as exc:
            log.warning("message.send_failed", reason=type(exc).__name__)

    async def join(self) -> None:
        """Wait for every accepted message to be handled (tests, shutdown)."""
        await self._dispatcher.join()

    def _record_status(self, status: StatusUpdate) -> None:
        log.info(
            "status.received",
            wamid=status.wamid,
            status=status.status,
            error_code=status.error_code,
        )
