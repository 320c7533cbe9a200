"""The job for one inbound message: route it, ask the backend, send the reply, record it all.

Exactly one reply per message, across redeliveries, concurrent jobs, retries and restarts:
- the webhook stored the message once (unique wamid) before Meta got its 200;
- a worker must claim the message (a lease in the store) and may only claim its contact's first
  unfinished message, so one contact's messages are answered in order;
- the reply is stored as outbound parts before anything is sent, so a retry sends the same text, and
  a part the Graph API accepted (it has a wamid) is never sent again;
- a part the Graph API refused fails together with its message, in one transaction.
The one gap left: a crash after the Graph API accepted a part and before its wamid was stored sends
that part again on resume; Meta offers no idempotency key to close it.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import RetryCallState

from app.backend import Backend
from app.errors import BackendError, SendFailed, SendRetryable
from app.retries import RetryPolicy
from app.sender import Sender, split_text
from app.store.models import InboundStatus, OutboundStatus, Row
from app.store.repository import Claim, Ending, MessageRepository

log = structlog.get_logger()

T = TypeVar("T")
Enqueue = Callable[[int], Awaitable[None]]


class Pipeline:
    def __init__(
        self,
        repository: MessageRepository,
        backend: Backend,
        sender: Sender,
        retry: RetryPolicy,
        lease_seconds: float,
    ) -> None:
        self._repository = repository
        self._backend = backend
        self._sender = sender
        self._retry = retry
        self._lease_seconds = lease_seconds

    async def process(self, message_id: int, enqueue: Enqueue) -> None:
        claim = await self._repository.claim(message_id, self._lease_seconds)
        if claim is None:
            return  # finished, held by another worker, or not its contact's turn yet
        message = claim.message
        with structlog.contextvars.bound_contextvars(
            wamid=message.wamid, message_id=message.id, request_id=message.request_id
        ):
            try:
                following = await self._handle(claim)
            except Exception as exc:
                log.exception("message.crashed")
                following = await self._repository.finish(
                    Ending(
                        message, InboundStatus.FAILED, None, f"router error: {type(exc).__name__}"
                    )
                )
        if following is not None:
            await enqueue(following)

    async def _handle(self, claim: Claim) -> int | None:
        """Answer the message and end it; return its contact's next unfinished message."""
        message = claim.message
        # Routing: only texts are answered, by the channel's backend (the Server).
        if message.type != "text" or message.text is None:
            log.info("message.ignored", type=message.type)
            return await self._repository.finish(Ending(message, InboundStatus.IGNORED))

        parts = claim.replies
        if not parts:
            text = message.text
            try:
                reply = await self._retrying(
                    message,
                    lambda: self._backend.reply_for(text, request_id=message.request_id or ""),
                )
            except BackendError as exc:
                log.warning("message.backend_failed", reason=str(exc))
                return await self._repository.finish(
                    Ending(message, InboundStatus.FAILED, None, str(exc))
                )
            parts = await self._repository.add_replies(message, split_text(reply))

        pending = [part for part in parts if part.status == OutboundStatus.PENDING]
        if not pending:  # every part settled before a restart: never sent twice
            return await self._repository.finish(_settled(message, parts))
        following = None
        for part in pending:
            try:
                wamid = await self._send(message, part)
            except (SendFailed, SendRetryable) as exc:
                code = exc.error_code
                title = exc.title if isinstance(exc, SendFailed) else str(exc)
                log.warning("message.send_failed", error_code=code, reason=title)
                return await self._repository.fail(
                    part.id, Ending(message, InboundStatus.FAILED, code, title)
                )
            # The last part's wamid and the message's end are stored in one transaction.
            ending = Ending(message, InboundStatus.REPLIED) if part is pending[-1] else None
            following = await self._repository.accept(part.id, wamid, ending)
        log.info("message.replied", parts=len(parts))
        return following

    async def _send(self, message: Row, part: Row) -> str:
        text = part.text or ""
        return await self._retrying(
            message, lambda: self._sender.send_text(part.phone_number_id, part.contact, text)
        )

    async def _retrying(self, message: Row, call: Callable[[], Awaitable[T]]) -> T:
        async def before_sleep(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "message.retrying",
                attempt=state.attempt_number,
                wait=round(wait, 2),
                reason=str(error),
            )
            await self._repository.count_attempt(message.id)
            # Keep the message ours while we wait, so no other worker takes it over.
            await self._repository.extend_lease(message.id, wait + self._lease_seconds)

        async for attempt in self._retry.retrying(message.created_at, before_sleep):
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last error")


def _settled(message: Row, parts: list[Row]) -> Ending:
    """How a message ends whose parts were all accepted or refused before a restart."""
    refused = next((part for part in parts if part.status == OutboundStatus.FAILED), None)
    if refused is None:
        return Ending(message, InboundStatus.REPLIED)
    return Ending(message, InboundStatus.FAILED, refused.error_code, refused.error_title)
