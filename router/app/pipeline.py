"""The job for one message: an inbound one is routed (app/routing/decide.py), answered by the
channel's agent and the reply sent; a member's message of its own is sent. All of it recorded.

Exactly one reply per message, across redeliveries, concurrent jobs, retries and restarts:
- the webhook stored the message once (unique wamid) before Meta got its 200;
- a worker must claim the message (a lease in the store) and may only claim its contact's first
  unfinished message, so one contact's messages are answered in order;
- the reply is stored as outbound parts before anything is sent, so a retry sends the same text, and
  a part the Graph API accepted (it has a wamid) is never sent again;
- a part is sent with a tracker stored before its send starts (app/trackers.py). A crash after the
  Graph API accepted a part and before its wamid was stored leaves the part pending with a tracker:
  the resumed job waits up to `ROUTER_RESEND_WAIT_SECONDS` for a status webhook carrying that
  tracker and adopts its wamid. Only when none comes is the part sent again; that is the gap left
  (Meta offers no idempotency key to close it for good);
- a part the Graph API refused fails together with its message, in one transaction.

A member's message (a text or a template, through the API) is stored first and is a job of its own
on the same path: the same lease, rate limit, retries, trackers and statuses. Replies and members'
messages go out from the channel's number with the channel's token (none stored: the env's
WHATSAPP_ACCESS_TOKEN).
"""

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import RetryCallState

from app.backend import Backend
from app.channels.directory import ChannelDirectory
from app.channels.models import NO_NUMBER
from app.errors import BackendError, SendFailed, SendRetryable
from app.retries import RetryPolicy
from app.routing.decide import Facts, Route, decide
from app.sender import Sender, split_text
from app.store.models import InboundStatus, OutboundStatus, Row
from app.store.repository import Claim, Ending, MessageRepository, Start
from app.trackers import TrackerWatch, new_tracker

log = structlog.get_logger()

T = TypeVar("T")
Enqueue = Callable[[int], Awaitable[None]]

# How a message the channel's agent is not asked about ends.
UNANSWERED = {
    Route.BLOCKED: InboundStatus.BLOCKED,
    Route.HANDED_OVER: InboundStatus.HANDED_OVER,
    Route.IGNORED: InboundStatus.IGNORED,
}


class Pipeline:
    def __init__(
        self,
        repository: MessageRepository,
        backend: Backend,
        sender: Sender,
        retry: RetryPolicy,
        lease_seconds: float,
        resend_wait_seconds: float,
        directory: ChannelDirectory | None = None,
    ) -> None:
        self._repository = repository
        self._directory = directory or repository.directory
        self._backend = backend
        self._sender = sender
        self._retry = retry
        self._lease_seconds = lease_seconds
        self._resend_wait = resend_wait_seconds
        self._watch = TrackerWatch(repository.wamids_for_trackers)

    async def aclose(self) -> None:
        await self._watch.aclose()

    async def process(self, message_id: int, enqueue: Enqueue) -> None:
        claim = await self._repository.claim(message_id, self._lease_seconds)
        if claim is None:
            return  # finished, held by another worker, or not its contact's turn yet
        message = claim.message
        with structlog.contextvars.bound_contextvars(
            wamid=message.wamid, message_id=message.id, request_id=message.request_id
        ):
            try:
                following = await (self._send_own(claim) if claim.own else self._handle(claim))
            except Exception as exc:
                log.exception("message.crashed")
                reason = f"router error: {type(exc).__name__}"
                if claim.own:
                    following = await self._repository.fail_own(message, None, reason)
                else:
                    following = await self._repository.finish(
                        Ending(message, InboundStatus.FAILED, None, reason)
                    )
        if following is not None:
            await enqueue(following)

    async def _handle(self, claim: Claim) -> int | None:
        """Answer the message and end it; return its contact's next unfinished message."""
        message = claim.message
        parts = claim.replies
        here = message.phone_number_id == NO_NUMBER  # an api channel: nothing to send
        started: dict[int, str] = {}  # parts whose send this job started, and their trackers
        # A reply stored by an earlier attempt was decided then: it is sent, whatever came since.
        if not parts:
            route = decide(
                Facts(message.type, message.text, claim.contact_blocked, claim.owner_member_id)
            )
            if route is not Route.AGENT:
                log.info(f"message.{UNANSWERED[route].value}", type=message.type)
                return await self._repository.finish(Ending(message, UNANSWERED[route]))
            text = message.text or ""
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
            if here:
                parts = await self._repository.add_replies(message, [reply], None)
            else:
                tracker = new_tracker(message.id, 0)
                parts = await self._repository.add_replies(message, split_text(reply), tracker)
                if parts[0].tracker == tracker:
                    started[parts[0].id] = tracker

        pending = [part for part in parts if part.status == OutboundStatus.PENDING]
        if not pending:  # every part settled before a restart: never sent twice
            return await self._repository.finish(_settled(message, parts))
        if here:
            log.info("message.replied_here", parts=len(parts))
            return await self._repository.deliver_here(
                pending, Ending(message, InboundStatus.REPLIED)
            )
        token = await self._token(message)
        following = None
        for index, part in enumerate(pending):
            try:
                wamid = await self._deliver(message, part, started, token)
            except (SendFailed, SendRetryable) as exc:
                code = exc.error_code
                title = exc.title if isinstance(exc, SendFailed) else str(exc)
                log.warning("message.send_failed", error_code=code, reason=title)
                return await self._repository.fail(
                    part.id, Ending(message, InboundStatus.FAILED, code, title)
                )
            # The last part's wamid and the message's end are stored in one transaction; any
            # other's with the start of the next part's send.
            next_part = pending[index + 1] if index + 1 < len(pending) else None
            ending = None if next_part else Ending(message, InboundStatus.REPLIED)
            then = None
            if next_part is not None and next_part.tracker is None:
                then = Start(next_part.id, new_tracker(message.id, next_part.part or 0))
                started[next_part.id] = then.tracker
            following = await self._repository.accept(part.id, wamid, ending, then)
        log.info("message.replied", parts=len(parts))
        return following

    async def _send_own(self, claim: Claim) -> int | None:
        """Send a member's message; return its contact's next pending one."""
        message = claim.message
        if claim.contact_blocked:  # blocked after the message was written: it does not go out
            log.warning("message.contact_blocked")
            return await self._repository.fail_own(message, None, "the contact is blocked")
        if message.phone_number_id == NO_NUMBER:
            log.info("message.delivered_here")
            return await self._repository.deliver_here([message], own=message)
        try:
            wamid = await self._deliver(message, message, {}, await self._token(message))
        except (SendFailed, SendRetryable) as exc:
            title = exc.title if isinstance(exc, SendFailed) else str(exc)
            log.warning("message.send_failed", error_code=exc.error_code, reason=title)
            return await self._repository.fail_own(message, exc.error_code, title)
        log.info("message.sent_own")
        return await self._repository.accept_own(message, wamid)

    async def _token(self, message: Row) -> str | None:
        """The access token of the message's channel; None: the env's (WHATSAPP_ACCESS_TOKEN)."""
        route = await self._directory.route(message.phone_number_id)
        return route.access_token if route is not None else None

    async def _deliver(
        self, message: Row, part: Row, started: dict[int, str], token: str | None
    ) -> str:
        """Send a part and return its wamid, or adopt the wamid of a send from before a restart."""
        tracker = started.get(part.id)
        if tracker is None and part.tracker is not None:
            # A send of this part started before a restart: it may have reached Meta.
            wamid = await self._adopt(message, part.tracker)
            if wamid is not None:
                return wamid
        tracker = tracker or part.tracker or await self._start(message, part)
        return await self._send(message, part, tracker, token)

    async def _start(self, message: Row, part: Row) -> str:
        """Record that a part's send starts (a part reopened for a replay); return its tracker."""
        tracker = new_tracker(message.id, part.part or 0)
        await self._repository.start(Start(part.id, tracker))
        return tracker

    async def _send(self, message: Row, part: Row, tracker: str, token: str | None) -> str:
        text = part.text or ""
        attempts = 0

        async def send() -> str:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # A failed attempt (a timeout, a 5xx) may have reached Meta all the same; if a
                # status webhook names it by now, that send is the reply.
                found = await self._repository.wamids_for_trackers([tracker])
                if tracker in found:
                    log.info("message.send_adopted", tracker=tracker, sent_wamid=found[tracker])
                    return found[tracker]
            if part.template is not None:
                return await self._sender.send_template(
                    part.phone_number_id,
                    part.contact,
                    json.loads(part.template),
                    tracker,
                    access_token=token,
                )
            return await self._sender.send_text(
                part.phone_number_id, part.contact, text, tracker, access_token=token
            )

        return await self._retrying(message, send)

    async def _adopt(self, message: Row, tracker: str) -> str | None:
        """The wamid of an earlier send with `tracker`, if a status webhook names it in time."""
        # Keep the message ours while we wait, so no other worker takes it over and sends.
        await self._repository.extend_lease(message.id, self._resend_wait + self._lease_seconds)
        wamid = await self._watch.wamid_for(tracker, self._resend_wait)
        if wamid is None:
            log.warning("message.resending", tracker=tracker, waited=self._resend_wait)
        else:
            log.info("message.send_adopted", tracker=tracker, sent_wamid=wamid)
        return wamid

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
