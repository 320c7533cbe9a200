"""The router's metrics as issue 14 names them: the only series the dashboard and the alerts may
use, besides Prometheus's own `up`. A name or label not here is a typo, or a metric the router
does not have."""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Metric:
    kind: Kind
    labels: frozenset[str]


def metric(kind: Kind, *labels: str) -> Metric:
    return Metric(kind, frozenset(labels))


METRICS: dict[str, Metric] = {
    "router_webhook_requests_total": metric("counter", "outcome"),
    "router_webhook_ack_seconds": metric("histogram"),
    "router_messages_total": metric("counter", "direction", "status"),
    "router_queue_depth": metric("gauge"),
    "router_queue_oldest_age_seconds": metric("gauge"),
    "router_graph_requests_total": metric("counter", "phone_number_id", "outcome"),
    "router_graph_errors_total": metric("counter", "code"),
    "router_backend_request_seconds": metric("histogram", "agent"),
    "router_circuit_state": metric("gauge", "name"),
    "router_rate_limit_wait_seconds": metric("histogram", "phone_number_id"),
    # What the work costs, per process (issue 22): `make bench` divides them by the replies.
    "router_db_statements_total": metric("counter"),
    "router_db_commits_total": metric("counter"),
    "router_http_client_requests_total": metric("counter"),
    "router_asyncio_tasks_created_total": metric("counter"),
    "router_log_lines_total": metric("counter"),
}
# What Prometheus adds to every series it scrapes (deploy/prometheus/prometheus.yml).
TARGET_LABELS = frozenset({"job", "instance", "service"})
# Made by Prometheus for each target, not by the router.
PROMETHEUS_SERIES: dict[str, Metric] = {"up": metric("gauge")}
HISTOGRAM_SERIES = {"_bucket": frozenset({"le"}), "_sum": frozenset(), "_count": frozenset()}


def series_labels(name: str, *, allow_up: bool) -> frozenset[str] | None:
    """The labels a series of that name may carry, or None when no metric of the list has it:
    a histogram's `_bucket`, `_sum` and `_count` series are its own."""
    known = METRICS | PROMETHEUS_SERIES if allow_up else METRICS
    if name in known and known[name].kind != "histogram":
        return known[name].labels | TARGET_LABELS
    for suffix, extra in HISTOGRAM_SERIES.items():
        base = name.removesuffix(suffix)
        if base != name and base in METRICS and METRICS[base].kind == "histogram":
            return METRICS[base].labels | extra | TARGET_LABELS
    return None
