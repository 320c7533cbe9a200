"""The router's Prometheus metrics: the instruments each step of the message path records to.

Names and labels are issue 14's, which the dashboard and the alerts are written against
(`deploy/tests/router_metrics.py`; `tests/observability/test_metrics_names.py` holds them equal).
No label carries a message's text, a contact's number or a secret: `phone_number_id` is the
business's own
number, `code` Meta's error code.

`Metrics` is the instruments' interface and records nothing: the router runs with it when
ROUTER_METRICS_ENABLED=false, so an instrumented line costs the call of an empty method.
`PrometheusMetrics` records. On the hot path a record costs a dict lookup and an increment or an
observation: each labelled child is made once and kept (those of the known label values up front,
so that their series exist at 0 from the start; a number's or an error code's on first sight),
never looked up in the registry per call.

The gauges read at scrape time (the queue's depth and age, the circuits' state) are filled in by
`exposition.py`.
"""

from collections.abc import Mapping
from typing import Any, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.core.errors import InvalidWebhookBody, SignatureInvalid, SignatureMissing
from app.messages.models import Direction, InboundStatus, OutboundStatus

WebhookOutcome = Literal[
    "accepted", "duplicate", "unsigned", "bad_signature", "malformed", "unavailable"
]
GraphOutcome = Literal["ok", "retryable", "failed"]
ACKNOWLEDGED: frozenset[WebhookOutcome] = frozenset({"accepted", "duplicate"})

# The ack's target is milliseconds (p99 <= 20 ms): fine buckets up to it, coarse past 100 ms.
ACK_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
# The Server answers in milliseconds; its timeout is seconds (SERVER_TIMEOUT_SECONDS, 10).
BACKEND_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A send that finds budget at once takes well under a millisecond (a Redis round trip included);
# a number at its limit waits up to a second per try.
WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# A circuit breaker's states as purgatory names them, as the monitoring API and these metrics do,
# and router_circuit_state's value for each.
CircuitState = Literal["closed", "half_open", "open"]
CIRCUIT_STATES: dict[str, CircuitState] = {
    "closed": "closed",
    "half-opened": "half_open",
    "opened": "open",
}
CIRCUIT_VALUES: dict[CircuitState, int] = {"closed": 0, "half_open": 1, "open": 2}


def webhook_outcome(answer: Mapping[str, Any] | BaseException) -> WebhookOutcome:
    """How a POST /webhook was answered: from what `accept` returned, or the error it raised."""
    if isinstance(answer, SignatureMissing):
        return "unsigned"
    if isinstance(answer, SignatureInvalid):
        return "bad_signature"
    if isinstance(answer, InvalidWebhookBody):  # 400, 413 and 422
        return "malformed"
    if isinstance(answer, BaseException):
        # The store's 503, or an error nobody expected (a 500): nothing was stored either way,
        # and Meta delivers again.
        return "unavailable"
    if answer.get("duplicates") and not answer.get("messages") and not answer.get("statuses"):
        return "duplicate"
    return "accepted"


class Metrics:
    """The instruments, recording nothing (ROUTER_METRICS_ENABLED=false)."""

    def webhook_answered(self, outcome: WebhookOutcome, seconds: float) -> None:
        """A POST /webhook was answered, `seconds` after it arrived."""

    def message_status(self, direction: str, status: str, count: int = 1) -> None:
        """`count` messages moved into `status`, in a transaction that committed."""

    def graph_answered(
        self, phone_number_id: str, outcome: GraphOutcome, code: int | None = None
    ) -> None:
        """A send from `phone_number_id` ended: sent, to be tried again, or refused for good;
        `code` is Meta's error code, when it gave one."""

    def backend_answered(self, agent: str, seconds: float) -> None:
        """An agent's backend (the Server: `server`) answered, failed or timed out."""

    def rate_limit_waited(self, phone_number_id: str, seconds: float) -> None:
        """A send waited `seconds` for its number's rate limit (about 0 when there was budget)."""

    def circuit_state(self, name: str, state: CircuitState) -> None:
        """A circuit breaker is in `state`."""

    def circuit_changed(self, name: str, event_name: str, event: Any) -> None:
        """purgatory's hook (`AsyncCircuitBreakerFactory.add_listener`): a breaker's state is
        recorded when it changes, not only when this process serves a scrape, which matters with
        several processes in multiprocess mode."""
        if event_name == "state_changed":
            self.circuit_state(name, CIRCUIT_STATES.get(event.state, "open"))


class PrometheusMetrics(Metrics):
    def __init__(self, registry: CollectorRegistry | None) -> None:
        """`registry` is the app's own; None in multiprocess mode, where prometheus_client keeps
        the values in files and a scrape reads them all (exposition.py)."""
        self.registry = registry
        webhooks = Counter(
            "router_webhook_requests",
            "POST /webhook requests, by how they were answered: accepted (something new stored, "
            "statuses included), duplicate (every message stored before), unsigned, "
            "bad_signature, malformed (400, 413, 422, and a 200 ignored for JSON that holds no "
            "WhatsApp batch), unavailable (503).",
            ["outcome"],
            registry=registry,
        )
        self._ack = Histogram(
            "router_webhook_ack_seconds",
            "Time from a POST /webhook's arrival to its 200.",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        messages = Counter(
            "router_messages",
            "Messages moving into a status (inbound: received, processing, replied, ignored, "
            "blocked, handed_over, unrouted, failed; outbound: pending, accepted, sent, "
            "delivered, read, failed).",
            ["direction", "status"],
            registry=registry,
        )
        self._graph_requests = Counter(
            "router_graph_requests",
            "Graph API sends, by the business's number and how they ended: ok, retryable "
            "(tried again later), failed (refused for good).",
            ["phone_number_id", "outcome"],
            registry=registry,
        )
        self._graph_errors = Counter(
            "router_graph_errors",
            "Graph API errors, by Meta's error code (130429 throughput, 131056 pair rate, "
            "131047 outside the 24-hour window, ...).",
            ["code"],
            registry=registry,
        )
        self._backend_seconds = Histogram(
            "router_backend_request_seconds",
            "Time an agent's backend took to answer (agent=server: the Server's /process).",
            ["agent"],
            buckets=BACKEND_BUCKETS,
            registry=registry,
        )
        self._circuits = Gauge(
            "router_circuit_state",
            "Each circuit breaker's state: 0 closed, 1 half-open, 2 open.",
            ["name"],
            registry=registry,
            # Several processes: the worst state among those alive.
            multiprocess_mode="livemax",
        )
        self._rate_limit_wait = Histogram(
            "router_rate_limit_wait_seconds",
            "Time a send waited for its number's rate limit.",
            ["phone_number_id"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._webhooks = {outcome: webhooks.labels(outcome) for outcome in get_args(WebhookOutcome)}
        self._messages = messages
        self._statuses: dict[tuple[str, str], Counter] = {
            (direction, status): messages.labels(direction, status)
            for direction, statuses in (
                (Direction.INBOUND.value, InboundStatus),
                (Direction.OUTBOUND.value, OutboundStatus),
            )
            for status in (s.value for s in statuses)
        }
        self._numbers: dict[str, dict[str, Counter]] = {}
        self._waits: dict[str, Histogram] = {}
        self._codes: dict[int, Counter] = {}
        self._backends: dict[str, Histogram] = {}
        self._circuit_children: dict[str, Gauge] = {}

    def webhook_answered(self, outcome: WebhookOutcome, seconds: float) -> None:
        self._webhooks[outcome].inc()
        if outcome in ACKNOWLEDGED:
            self._ack.observe(seconds)

    def message_status(self, direction: str, status: str, count: int = 1) -> None:
        if count <= 0:  # a statement that moved nothing (or a driver that cannot tell: -1)
            return
        child = self._statuses.get((direction, status))
        if child is None:
            child = self._statuses[(direction, status)] = self._messages.labels(direction, status)
        child.inc(count)

    def graph_answered(
        self, phone_number_id: str, outcome: GraphOutcome, code: int | None = None
    ) -> None:
        children = self._numbers.get(phone_number_id)
        if children is None:
            children = self._numbers[phone_number_id] = {
                name: self._graph_requests.labels(phone_number_id, name)
                for name in get_args(GraphOutcome)
            }
        children[outcome].inc()
        if code is not None:
            error = self._codes.get(code)
            if error is None:
                error = self._codes[code] = self._graph_errors.labels(str(code))
            error.inc()

    def backend_answered(self, agent: str, seconds: float) -> None:
        child = self._backends.get(agent)
        if child is None:
            child = self._backends[agent] = self._backend_seconds.labels(agent)
        child.observe(seconds)

    def rate_limit_waited(self, phone_number_id: str, seconds: float) -> None:
        child = self._waits.get(phone_number_id)
        if child is None:
            child = self._waits[phone_number_id] = self._rate_limit_wait.labels(phone_number_id)
        child.observe(seconds)

    def circuit_state(self, name: str, state: CircuitState) -> None:
        child = self._circuit_children.get(name)
        if child is None:
            child = self._circuit_children[name] = self._circuits.labels(name)
        child.set(CIRCUIT_VALUES[state])
