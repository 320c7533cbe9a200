"""Sending what a job decided: a reply's parts, or a member's message of its own, each part with a
tracker stored before its send starts (app/outbound/trackers.py), adopted from a status webhook
after a restart rather than sent twice, and the message ended with the last part's wamid in one
transaction."""

import json

import structlog

from app.channels.directory import ChannelDirectory
from app.channels.models import NO_NUMBER
from app.channels.repository import NumberRoute
from app.core.errors import SendFailed, SendRetryable
from app.jobs.retries import Attempts
from app.media.outbound import MediaSender
from app.messages.models import InboundStatus, MessageRow, OutboundStatus
from app.messages.store import Claim, Ending, MessageRepository, Start
from app.outbound.sender import GraphSender
from app.outbound.trackers import TrackerWatch, new_tracker

log = structlog.get_logger()


class Delivery:
    def __init__(
        self,
        repository: MessageRepository,
        sender: GraphSender,
        directory: ChannelDirectory,
        attempts: Attempts,
        lease_seconds: float,
        resend_wait_seconds: float,
        media: MediaSender | None = None,
    ) -> None:
        self._repository = repository
        self._media = media
        self._sender = sender
        self._directory = directory
        self._attempts = attempts
        self._lease_seconds = lease_seconds
        self._resend_wait = resend_wait_seconds
        self._watch = TrackerWatch(repository.statuses.wamids_for_trackers)

    async def aclose(self) -> None:
        await self._watch.aclose()

    async def send_reply(
        self,
        message: MessageRow,
        parts: list[MessageRow],
        started: dict[int, str],
        channel: NumberRoute | None,
    ) -> int | None:
        """Send a reply's pending parts and end the message they answer."""
        pending = [part for part in parts if part.status == OutboundStatus.PENDING]
        if not pending:  # every part settled before a restart: never sent twice
            return await self._repository.replies.finish(_settled(message, parts))
        if message.phone_number_id == NO_NUMBER:
            log.info("message.replied_here", parts=len(parts))
            return await self._repository.replies.deliver_here(
                pending, Ending(message, InboundStatus.REPLIED)
            )
        token = channel.access_token if channel is not None else None
        # A turn's reply quotes the message it answers: the turn's last.
        quote = message.wamid if message.turn_id is not None else None
        following = None
        for index, part in enumerate(pending):
            try:
                wamid = await self._deliver(
                    message, part, started, token, quote if not part.part else None
                )
            except (SendFailed, SendRetryable) as exc:
                code = exc.error_code
                title = exc.title if isinstance(exc, SendFailed) else str(exc)
                log.warning("message.send_failed", error_code=code, reason=title)
                return await self._repository.replies.fail(
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
            following = await self._repository.replies.accept(part.id, wamid, ending, then)
        log.info("message.replied", parts=len(parts), sent_wamid=wamid)
        return following

    async def send_own(self, claim: Claim) -> int | None:
        """Send a member's message; return its contact's next pending one."""
        message = claim.message
        if claim.contact_blocked:  # blocked after the message was written: it does not go out
            log.warning("message.contact_blocked")
            return await self._repository.replies.fail_own(message, None, "the contact is blocked")
        if message.phone_number_id == NO_NUMBER:
            log.info("message.delivered_here")
            return await self._repository.replies.deliver_here([message], own=message)
        try:
            wamid = await self._deliver(message, message, {}, await self._token(message), None)
        except (SendFailed, SendRetryable) as exc:
            title = exc.title if isinstance(exc, SendFailed) else str(exc)
            log.warning("message.send_failed", error_code=exc.error_code, reason=title)
            return await self._repository.replies.fail_own(message, exc.error_code, title)
        log.info("message.sent_own")
        return await self._repository.replies.accept_own(message, wamid)

    async def _token(self, message: MessageRow) -> str | None:
        """The access token of the message's channel; None: the env's (WHATSAPP_ACCESS_TOKEN)."""
        route = await self._directory.route(message.phone_number_id)
        return route.access_token if route is not None else None

    async def _deliver(
        self,
        message: MessageRow,
        part: MessageRow,
        started: dict[int, str],
        token: str | None,
        quote: str | None,
    ) -> str:
        """Send a part and return its wamid, or adopt the wamid of a send from before a restart."""
        tracker = started.get(part.id)
        if tracker is None and part.tracker is not None:
            # A send of this part started before a restart: it may have reached Meta.
            wamid = await self._adopt(message, part.tracker)
            if wamid is not None:
                return wamid
        tracker = tracker or part.tracker or await self._start(message, part)
        return await self._send(message, part, tracker, token, quote)

    async def _start(self, message: MessageRow, part: MessageRow) -> str:
        """Record that a part's send starts (a part reopened for a replay); return its tracker."""
        tracker = new_tracker(message.id, part.part or 0)
        await self._repository.replies.start(Start(part.id, tracker))
        return tracker

    async def _send(
        self,
        message: MessageRow,
        part: MessageRow,
        tracker: str,
        token: str | None,
        quote: str | None,
    ) -> str:
        text = part.text or ""
        attempts = 0

        async def send() -> str:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # A failed attempt (a timeout, a 5xx) may have reached Meta all the same; if a
                # status webhook names it by now, that send is the reply.
                found = await self._repository.statuses.wamids_for_trackers([tracker])
                if tracker in found:
                    log.info("message.send_adopted", tracker=tracker, sent_wamid=found[tracker])
                    return found[tracker]
            if part.attachment is not None and self._media is not None:
                return await self._media.send(part, tracker, token)
            if part.template is not None:
                return await self._sender.send_template(
                    part.phone_number_id,
                    part.contact,
                    json.loads(part.template),
                    tracker,
                    access_token=token,
                )
            return await self._sender.send_text(
                part.phone_number_id, part.contact, text, tracker, access_token=token, quote=quote
            )

        return await self._attempts.run(message, send)

    async def _adopt(self, message: MessageRow, tracker: str) -> str | None:
        """The wamid of an earlier send with `tracker`, if a status webhook names it in time."""
        # Keep the message ours while we wait, so no other worker takes it over and sends.
        await self._repository.leases.extend_lease(
            message.id, self._resend_wait + self._lease_seconds
        )
        wamid = await self._watch.wamid_for(tracker, self._resend_wait)
        if wamid is None:
            log.warning("message.resending", tracker=tracker, waited=self._resend_wait)
        else:
            log.info("message.send_adopted", tracker=tracker, sent_wamid=wamid)
        return wamid


def _settled(message: MessageRow, parts: list[MessageRow]) -> Ending:
    """How a message ends whose parts were all accepted or refused before a restart."""
    refused = next((part for part in parts if part.status == OutboundStatus.FAILED), None)
    if refused is None:
        return Ending(message, InboundStatus.REPLIED)
    return Ending(message, InboundStatus.FAILED, refused.error_code, refused.error_title)
