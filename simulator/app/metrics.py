"""The simulator's own figures, beside its HTTP requests (app/http_metrics.py): what it answered
the Router's Graph API calls, and how the Router took the webhooks it posted.

Their labels are bounded: an operation, a Meta error code, an HTTP status, a delivery kind and
state; never a phone number, a token or a message.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram

from app.http_metrics import BUCKETS
from app.store import DeliveryKind, DeliveryState

OK = "ok"
# An attempt that got no HTTP answer: refused, reset or timed out.
NO_ANSWER = "error"


class SimulatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.graph_requests = Counter(
            "simulator_graph_requests",
            "Graph API calls answered, by operation (send, read, phone_number, templates, "
            "media_upload, media_url, media_download, media_delete, other) "
            "and result: ok, or the Meta error code of the refusal (130429, 131047, 190, ...).",
            ["operation", "result"],
            registry=registry,
        )
        self.webhooks = Counter(
            "simulator_webhooks",
            "Webhook bodies posted to the Router, by kind (message, status, raw) and how they "
            "ended: delivered (a 2xx), failed (every attempt refused or unanswered), dropped (a "
            "fault).",
            ["kind", "state"],
            registry=registry,
        )
        self.webhook_attempts = Counter(
            "simulator_webhook_attempts",
            "POSTs of webhook bodies to the Router, retries included, by the Router's HTTP status "
            "(error: no answer).",
            ["result"],
            registry=registry,
        )
        self.webhook_attempt_seconds = Histogram(
            "simulator_webhook_attempt_seconds",
            "How long the Router took to answer a webhook POST: its ack as Meta sees it.",
            buckets=BUCKETS,
            registry=registry,
        )

        # Every Graph API send passes here: the labelled children are made once.
        self._graph_children: dict[tuple[str, int | None], Counter] = {}

    def graph_answered(self, operation: str, code: int | None) -> None:
        child = self._graph_children.get((operation, code))
        if child is None:
            result = OK if code is None else str(code)
            child = self._graph_children[operation, code] = self.graph_requests.labels(
                operation, result
            )
        child.inc()

    def webhook_ended(self, kind: DeliveryKind, state: DeliveryState) -> None:
        self.webhooks.labels(kind, state).inc()

    def webhook_attempted(self, status: int | None, seconds: float) -> None:
        self.webhook_attempts.labels(NO_ANSWER if status is None else str(status)).inc()
        self.webhook_attempt_seconds.observe(seconds)
