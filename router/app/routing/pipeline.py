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

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from app.agents.directory import AgentDirectory
from app.channels.directory import ChannelDirectory
from app.channels.models import NO_NUMBER
from app.channels.repository import NumberRoute
from app.core.errors import BackendError
from app.ignore_rules.directory import IgnoreRuleDirectory
from app.jobs.retries import Attempts, RetryPolicy
from app.media.fetch import MediaFetcher
from app.media.outbound import MediaSender
from app.messages.models import InboundStatus, MessageRow
from app.messages.store import Claim, Ending, MessageRepository
from app.observability.tracing import Tracing
from app.outbound.delivery import Delivery
from app.outbound.sender import GraphSender, split_text
from app.outbound.trackers import new_tracker
from app.routing.agent_chain import AgentChain
from app.routing.decide import Facts, IgnoreRuleFact, Route, decide
from app.routing.gather import Gatherer
from app.routing.turns import joined

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
        sender: GraphSender,
        retry: RetryPolicy,
        lease_seconds: float,
        resend_wait_seconds: float,
        directory: ChannelDirectory | None = None,
        tracing: Tracing | None = None,
        media: tuple[MediaFetcher, MediaSender] | None = None,
    ) -> None:
        self._repository = repository
        self._directory = directory or repository.directory
        self._ignore_rules = ignore_rules
        self._lease_seconds = lease_seconds
        self._tracing = tracing or Tracing()
        self._attempts = attempts = Attempts(retry, repository.leases, lease_seconds)
        self._media = media[0] if media is not None else None
        self._gatherer = Gatherer(repository.turns, repository.leases, lease_seconds)
        self._chain = AgentChain(agents, attempts)
        self._delivery = Delivery(
            repository,
            sender,
            self._directory,
            attempts,
            lease_seconds,
            resend_wait_seconds,
            media[1] if media is not None else None,
        )

    async def aclose(self) -> None:
        await self._delivery.aclose()

    async def process(self, message_id: int, enqueue: Enqueue) -> None:
        claim = await self._repository.leases.claim(message_id, self._lease_seconds)
        if claim is None:
            return  # finished, held by another worker, or not its contact's turn yet
        following = await self._guarded(
            claim, self._delivery.send_own if claim.own else self._handle
        )
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
                    return await self._repository.replies.fail_own(message, None, reason)
                return await self._repository.replies.finish(
                    Ending(message, InboundStatus.FAILED, None, reason)
                )

    async def _handle(self, claim: Claim) -> int | None:
        """Answer the message and end it; return its contact's next unfinished message. On a
        channel with burst debounce, the contact's burst is gathered into one turn first."""
        message = claim.message
        if message.attachment is not None and self._media is not None:
            # An inbound file, fetched in the job (app/media/fetch.py); never fails the message.
            await self._media.fetch(message, self._attempts, claim.contact_blocked)
        here = message.phone_number_id == NO_NUMBER  # an api channel: nothing to send
        channel = None if here else await self._directory.route(message.phone_number_id)
        if claim.replies:
            # A reply stored by an earlier attempt was decided then: sent, whatever came since.
            return await self._delivery.send_reply(message, claim.replies, {}, channel)
        text = message.text
        if message.turn_id is not None:
            # A turn written before a restart (or replayed): answered with all of its texts.
            text = joined(await self._repository.turns.turn_texts(message))
        rules = await self._rules(message)
        debounce = channel.debounce_ms if channel is not None else None
        if (
            debounce
            and message.turn_id is None
            and decide(_facts(claim, text, rules)).route is Route.AGENT
        ):
            gathered = await self._gatherer.gather(claim, debounce)
            if gathered is None:
                return None  # another job wrote this turn: this one's lease ran out meanwhile
            turn, text = gathered
            if self._media is not None:  # the files of the turn's later messages
                await self._media.fetch_turn(turn.message, self._attempts)
            return await self._guarded(turn, lambda last: self._answer(last, text, channel, rules))
        return await self._answer(claim, text, channel, rules)

    async def _rules(self, message: MessageRow) -> list[IgnoreRuleFact]:
        """The ignore rules of the message's tenant that apply on its channel (kept in memory)."""
        if message.tenant_id is None:
            return []
        return await self._ignore_rules.rules(message.tenant_id, message.channel_id)

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
            return await self._repository.replies.finish(
                Ending(message, status, ignored_by_rule_id=decision.ignore_rule_id)
            )
        try:
            answer = await self._chain.first_reply(message, text or "")
        except BackendError as exc:
            log.warning("message.backend_failed", reason=str(exc))
            return await self._repository.replies.finish(
                Ending(message, InboundStatus.FAILED, None, str(exc))
            )
        if answer is None:
            log.info("message.unanswered")
            return await self._repository.replies.finish(Ending(message, InboundStatus.UNANSWERED))
        agent, reply = answer
        started: dict[int, str] = {}  # parts whose send this job started, and their trackers
        if message.phone_number_id == NO_NUMBER:
            parts = await self._repository.replies.add_replies(message, [reply], None, agent.id)
        else:
            tracker = new_tracker(message.id, 0)
            parts = await self._repository.replies.add_replies(
                message, split_text(reply), tracker, agent.id
            )
            if parts[0].tracker == tracker:
                started[parts[0].id] = tracker
        return await self._delivery.send_reply(message, parts, started, channel)


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
