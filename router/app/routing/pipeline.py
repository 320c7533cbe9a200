"""The job for one message: an inbound one is routed (app/routing/decide.py), answered by the
channel's agents and the reply sent; a member's message of its own is sent. All of it recorded.

A channel's agents (app/agents/) are asked in priority order, smallest first: the first that gives
a reply answers, and the reply records its id (`agent_id`, sender `ai`). An agent that passes
(no rule matched, not its contact, no trigger keyword) lets the next one answer; one that fails
(the Server or a model down) is retried like the Server always was, then the message is `failed`
with the reason. When no agent gives a reply, the message ends `unanswered`.

Exactly one reply per message, across redeliveries, concurrent jobs, retries and restarts:
- the webhook stored the message once (unique wamid) before Meta got its 200;
- a worker must claim the message (a lease in the store) and may only claim its contact's first
  unfinished message, so one contact's messages are answered in order;
- the reply is stored as outbound parts before anything is sent, so a retry sends the same text, and
  a part the Graph API accepted (it has a wamid) is never sent again;
- a part is sent with a tracker stored before its send starts (app/outbound/trackers.py). A crash
  after the Graph API accepted a part and before its wamid was stored leaves the part pending with
  a tracker:
  the resumed job waits up to `ROUTER_RESEND_WAIT_SECONDS` for a status webhook carrying that
  tracker and adopts its wamid. Only when none comes is the part sent again; that is the gap left
  (Meta offers no idempotency key to close it for good);
- a part the Graph API refused fails together with its message, in one transaction.
- on a channel with burst debounce, the job holding a contact's first message waits for the burst
  to end and writes it to the store as one turn (app/routing/turns.py); the turn's last message
  is then answered as any message is, with the turn's texts, and a restart answers the same turn.

A member's message (a text or a template, through the API) is stored first and is a job of its own
on the same path: the same lease, rate limit, retries, trackers and statuses. Replies and members'
messages go out from the channel's number with the channel's token (none stored: the env's
WHATSAPP_ACCESS_TOKEN).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar

import structlog
from tenacity import RetryCallState

from app.agents.base import Agent, Turn
from app.agents.directory import AgentDirectory
from app.channels.directory import ChannelDirectory
from app.channels.models import NO_NUMBER
from app.channels.repository import NumberRoute
from app.core.errors import BackendError, SendFailed, SendRetryable
from app.ignore_rules.directory import IgnoreRuleDirectory
from app.jobs.retries import RetryPolicy
from app.messages.models import InboundStatus, OutboundStatus, Row, utcnow
from app.messages.store import Claim, Ending, MessageRepository, Start
from app.observability.tracing import Tracing
from app.outbound.sender import Sender, split_text
from app.outbound.trackers import TrackerWatch, new_tracker
from app.routing.decide import Facts, IgnoreRuleFact, Route, decide
from app.routing.turns import burst, joined, seconds_to_wait

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
        agents: AgentDirectory,
        ignore_rules: IgnoreRuleDirectory,
        sender: Sender,
        retry: RetryPolicy,
        lease_seconds: float,
        resend_wait_seconds: float,
        directory: ChannelDirectory | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._repository = repository
        self._directory = directory or repository.directory
        self._agents = agents
        self._ignore_rules = ignore_rules
        self._sender = sender
        self._retry = retry
        self._lease_seconds = lease_seconds
        self._resend_wait = resend_wait_seconds
        self._watch = TrackerWatch(repository.wamids_for_trackers)
        self._tracing = tracing or Tracing()

    async def aclose(self) -> None:
        await self._watch.aclose()

    async def process(self, message_id: int, enqueue: Enqueue) -> None:
        claim = await self._repository.claim(message_id, self._lease_seconds)
        if claim is None:
            return  # finished, held by another worker, or not its contact's turn yet
        following = await self._guarded(claim, self._send_own if claim.own else self._handle)
        if following is not None:
            await enqueue(following)

    async def _guarded(
        self, claim: Claim, job: Callable[[Claim], Awaitable[int | None]]
    ) -> int | None:
        """Run a job on a message it holds; a crash ends the message as failed. Returns its
        contact's next unfinished message."""
        message = claim.message
        # The message's trace, from its stored traceparent: the webhook's, whichever process or
        # restart runs the job.
        with (
            self._tracing.job(message),
            structlog.contextvars.bound_contextvars(
                wamid=message.wamid, message_id=message.id, request_id=message.request_id
            ),
        ):
            try:
                return await job(claim)
            except Exception as exc:
                log.exception("message.crashed")
                reason = f"router error: {type(exc).__name__}"
                if claim.own:
                    return await self._repository.fail_own(message, None, reason)
                return await self._repository.finish(
                    Ending(message, InboundStatus.FAILED, None, reason)
                )

    async def _handle(self, claim: Claim) -> int | None:
        """Answer the message and end it; return its contact's next unfinished message. On a
        channel with burst debounce, the contact's burst is gathered into one turn first."""
        message = claim.message
        here = message.phone_number_id == NO_NUMBER  # an api channel: nothing to send
        channel = None if here else await self._directory.route(message.phone_number_id)
        if claim.replies:
            # A reply stored by an earlier attempt was decided then: sent, whatever came since.
            return await self._send_reply(message, claim.replies, {}, channel)
        text = message.text
        if message.turn_id is not None:
            # A turn written before a restart (or replayed): answered with all of its texts.
            text = joined(await self._repository.turn_texts(message))
        rules = await self._rules(message)
        debounce = channel.debounce_ms if channel is not None else None
        if (
            debounce
            and message.turn_id is None
            and decide(_facts(claim, text, rules)).route is Route.AGENT
        ):
            gathered = await self._gather(claim, debounce)
            if gathered is None:
                return None  # another job wrote this turn: this one's lease ran out meanwhile
            turn, text = gathered
            return await self._guarded(turn, lambda last: self._answer(last, text, channel, rules))
        return await self._answer(claim, text, channel, rules)

    async def _rules(self, message: Row) -> list[IgnoreRuleFact]:
        """The ignore rules of the message's tenant that apply on its channel (kept in memory)."""
        if message.tenant_id is None:
            return []
        return await self._ignore_rules.rules(message.tenant_id, message.channel_id)

    async def _gather(self, claim: Claim, debounce_ms: int) -> tuple[Claim, str] | None:
        """Wait until the contact's burst is complete (app/routing/turns.py), then write it to
        the store as one turn. Returns the turn's last message, which this job holds now, and the
        turn's text; None when another job wrote the turn."""
        head = claim.message
        window = timedelta(milliseconds=debounce_ms)
        while True:
            turn = burst(await self._repository.waiting(head), window)
            wait = seconds_to_wait(turn, window, utcnow())
            if wait <= 0:
                break
            # Keep the message ours while we wait, so no other worker takes it over.
            await self._repository.extend_lease(head.id, wait + self._lease_seconds)
            await asyncio.sleep(wait)
        last = await self._repository.form_turn(head, [m.id for m in turn], self._lease_seconds)
        if last is None:
            log.warning("message.turn_taken")
            return None
        log.info("message.turn", messages=len(turn), last_message_id=last.message.id)
        return last, joined([m.text for m in turn])

    async def _answer(
        self,
        claim: Claim,
        text: str | None,
        channel: NumberRoute | None,
        rules: list[IgnoreRuleFact],
    ) -> int | None:
        """Route the message (or turn), ask the channel's agents and send the reply."""
        message = claim.message
        decision = decide(_facts(claim, text, rules))
        if decision.route is not Route.AGENT:
            status = UNANSWERED[decision.route]
            log.info(f"message.{status.value}", type=message.type, rule=decision.ignore_rule_id)
            return await self._repository.finish(
                Ending(message, status, ignored_by_rule_id=decision.ignore_rule_id)
            )
        try:
            answer = await self._ask_agents(message, text or "")
        except BackendError as exc:
            log.warning("message.backend_failed", reason=str(exc))
            return await self._repository.finish(
                Ending(message, InboundStatus.FAILED, None, str(exc))
            )
        if answer is None:
            log.info("message.unanswered")
            return await self._repository.finish(Ending(message, InboundStatus.UNANSWERED))
        agent, reply = answer
        started: dict[int, str] = {}  # parts whose send this job started, and their trackers
        if message.phone_number_id == NO_NUMBER:
            parts = await self._repository.add_replies(message, [reply], None, agent.id)
        else:
            tracker = new_tracker(message.id, 0)
            parts = await self._repository.add_replies(
                message, split_text(reply), tracker, agent.id
            )
            if parts[0].tracker == tracker:
                started[parts[0].id] = tracker
        return await self._send_reply(message, parts, started, channel)

    async def _ask_agents(self, message: Row, text: str) -> tuple[Agent, str] | None:
        """The first reply of the channel's agents, in priority order, and who gave it."""
        if message.channel_id is None:
            return None
        turn = Turn(
            message.id,
            text,
            message.contact_id,
            message.conversation_id,
            message.request_id or "",
        )
        for agent in await self._agents.agents(message.channel_id):
            reply = await self._retrying(message, partial(agent.reply, turn))
            if reply:
                return agent, reply
        return None

    async def _send_reply(
        self,
        message: Row,
        parts: list[Row],
        started: dict[int, str],
        channel: NumberRoute | None,
    ) -> int | None:
        """Send a reply's pending parts and end the message they answer."""
        pending = [part for part in parts if part.status == OutboundStatus.PENDING]
        if not pending:  # every part settled before a restart: never sent twice
            return await self._repository.finish(_settled(message, parts))
        if message.phone_number_id == NO_NUMBER:
            log.info("message.replied_here", parts=len(parts))
            return await self._repository.deliver_here(
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
            wamid = await self._deliver(message, message, {}, await self._token(message), None)
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
        self,
        message: Row,
        part: Row,
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

    async def _start(self, message: Row, part: Row) -> str:
        """Record that a part's send starts (a part reopened for a replay); return its tracker."""
        tracker = new_tracker(message.id, part.part or 0)
        await self._repository.start(Start(part.id, tracker))
        return tracker

    async def _send(
        self, message: Row, part: Row, tracker: str, token: str | None, quote: str | None
    ) -> str:
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
                part.phone_number_id, part.contact, text, tracker, access_token=token, quote=quote
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


def _facts(claim: Claim, text: str | None, rules: list[IgnoreRuleFact]) -> Facts:
    """What the routing decision looks at; a turn is a text, its texts joined."""
    message = claim.message
    return Facts(
        "text" if message.turn_id is not None else message.type,
        (text or None) if message.turn_id is not None else text,
        claim.contact_blocked,
        claim.owner_member_id,
        message.contact_id,
        (message.wa_id, message.user_id, message.contact),
        rules,
    )


def _settled(message: Row, parts: list[Row]) -> Ending:
    """How a message ends whose parts were all accepted or refused before a restart."""
    refused = next((part for part in parts if part.status == OutboundStatus.FAILED), None)
    if refused is None:
        return Ending(message, InboundStatus.REPLIED)
    return Ending(message, InboundStatus.FAILED, refused.error_code, refused.error_title)
