"""The job for one inbound message: route it, ask the backend, send the reply, record it all.

Exactly one reply per message, across redeliveries, concurrent jobs, retries and restarts:
- the webhook stored the message once (unique wamid) before Meta got its 200;
- a worker must claim the message (a lease in the store) and may only claim its contact's first
  unfinished message, so one contact's messages are answered in order;
- the reply is stored as outbound parts before anything is sent, so a retry sends the same text, and
  a part the Graph API accepted (it has a wamid) is never sent again.
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
from app.store.models import InboundStatus, Message, OutboundStatus
from app.store.repository import MessageRepository

log = structlog.get_logger()

T = TypeVar("T")
Enqueue = Callable[[int], Awaitable[None]]
# How a message's processing ended: its status, and Meta's error code and title when it failed.
Outcome = tuple[InboundStatus, int | None, str | None]


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
        message = await self._repository.claim(message_id, self._lease_seconds)
        if message is None:
            return  # finished, held by another worker, or not its contact's turn yet
        with structlog.contextvars.bound_contextvars(
            wamid=message.wamid, message_id=message.id, request_id=message.request_id
        ):
            try:
                outcome = await self._handle(message)
            except Exception as exc:
                log.exception("message.crashed")
                outcome = (InboundStatus.FAILED, None, f"router error: {type(exc).__name__}")
            status, error_code, error_title = outcome
            following = await self._repository.finish(message, status, error_code, error_title)
        if following is not None:
            await enqueue(following)

    async def _handle(self, message: Message) -> Outcome:
        # Routing: only texts are answered, by the channel's backend (the Server).
        if message.type != "text" or message.text is None:
            log.info("message.ignored", type=message.type)
            return InboundStatus.IGNORED, None, None

        parts = await self._repository.replies_to(message.id)
        if not parts:
            text = message.text
            try:
                reply = await self._retrying(
                    message,
                    lambda: self._backend.reply_for(text, request_id=message.request_id or ""),
                )
            except BackendError as exc:
                log.warning("message.backend_failed", reason=str(exc))
                return InboundStatus.FAILED, None, str(exc)
            parts = await self._repository.add_replies(message, split_text(reply))

        for part in parts:
            if part.status != OutboundStatus.PENDING:
                continue  # accepted by the Graph API before a restart: never sent twice
            failure = await self._send(message, part)
            if failure is not None:
                return failure
        log.info("message.replied", parts=len(parts))
        return InboundStatus.REPLIED, None, None

    async def _send(self, message: Message, part: Message) -> Outcome | None:
        """Send one part; None when the Graph API accepted it, else the message's failure."""
        text = part.text or ""
        try:
            wamid = await self._retrying(
                message,
                lambda: self._sender.send_text(part.phone_number_id, part.contact, text),
            )
        except (SendFailed, SendRetryable) as exc:
            code = exc.error_code
            title = exc.title if isinstance(exc, SendFailed) else str(exc)
            log.warning("message.send_failed", error_code=code, reason=title)
            await self._repository.mark_failed(part.id, code, title)
            return InboundStatus.FAILED, code, title
        await self._repository.mark_accepted(part.id, wamid)
        return None

    async def _retrying(self, message: Message, call: Callable[[], Awaitable[T]]) -> T:
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
