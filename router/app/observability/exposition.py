"""`GET /metrics`: the Prometheus text format (OpenMetrics when the scraper asks for it), behind an
optional bearer token (ROUTER_METRICS_TOKEN); a 404 when ROUTER_METRICS_ENABLED=false.

One router process: its own registry (tests build many apps in one process), holding its metrics,
the process's CPU, memory and GC, and the gauges read at scrape time. Prometheus scrapes each
router process on its own and queries add them up.

Several uvicorn workers behind one port (`--workers N`): a scrape reaches one of them, so each
would answer for itself alone. With PROMETHEUS_MULTIPROC_DIR set (prometheus_client's multiprocess
mode), every process keeps its values in files in that directory and a scrape adds them all up:
counters and histograms summed over every process since the directory was emptied, the circuit
gauge the worst among the processes alive. The directory must exist, be empty when the workers
start, and be the same for all of them; a worker that stops cleanly marks itself dead.

Scrape time: the queue's depth and the age of its oldest message come from the store, read at most
once per ROUTER_METRICS_CACHE_SECONDS whatever the number of scrapers (concurrent scrapes share
one read), and are left out of an answer when the store does not answer (rather than stale); each
circuit breaker's state is read from purgatory.
"""

import asyncio
import hmac
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from app.core.clock import utcnow
from app.core.costs import COSTS
from app.core.errors import Unauthorized, error_response
from app.core.state import state_of
from app.monitoring.repository import QueueCounts
from app.observability.circuits import CircuitView
from app.observability.metrics import Metrics, PrometheusMetrics
from app.settings import Settings, SettingsError

log = structlog.get_logger()

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR, checked: prometheus_client reads it when it is imported."""
    path = os.environ.get(MULTIPROCESS_DIR)
    if not path:
        return None
    if not os.path.isdir(path):
        raise SettingsError(
            f"The router cannot start: {MULTIPROCESS_DIR} names {path}, which is not a "
            "directory. Create it (empty) before starting the router's workers."
        )
    return path


def new_metrics(settings: Settings) -> Metrics:
    """The instruments: recording ones when ROUTER_METRICS_ENABLED, else ones that do nothing."""
    if not settings.router_metrics_enabled:
        return Metrics()
    if multiprocess_dir() is not None:
        return PrometheusMetrics(registry=None)  # the values go to the directory's files
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(CostCounters())
    return PrometheusMetrics(registry)


class QueueGauges(Collector):
    """router_queue_depth and router_queue_oldest_age_seconds, read from the store."""

    def __init__(self, read: Callable[[], Awaitable[QueueCounts]], cache_seconds: float) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._counts: QueueCounts | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:  # a scrape that waited here finds the read just made
            if time.monotonic() - self._read_at < self._cache_seconds:
                return
            try:
                self._counts = await self._read()
            except Exception as exc:
                log.warning("metrics.queue_unread", error=type(exc).__name__)
                self._counts = None
            self._read_at = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        counts = self._counts
        if counts is None:
            return
        oldest = (utcnow() - counts.oldest).total_seconds() if counts.oldest else 0.0
        yield GaugeMetricFamily(
            "router_queue_depth", "Inbound messages waiting for a worker.", value=counts.depth
        )
        yield GaugeMetricFamily(
            "router_queue_oldest_age_seconds",
            "How long the oldest message waiting for a worker has waited (0: none waits).",
            value=max(oldest, 0.0),
        )

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time: nothing to describe before


COST_COUNTERS = {
    "statements": ("router_db_statements", "SQL statements this process sent to the database."),
    "commits": ("router_db_commits", "Transactions this process committed."),
    "http_requests": (
        "router_http_client_requests",
        "HTTP requests this process made (the Server, the Graph API, agents' backends).",
    ),
    "tasks": ("router_asyncio_tasks_created", "asyncio tasks created in this process."),
    "log_lines": ("router_log_lines", "Log lines this process wrote."),
}


class CostCounters(Collector):
    """What this process's work cost (app/core/costs.py), read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        for field, value in COSTS.as_dict().items():
            name, documentation = COST_COUNTERS[field]
            yield CounterMetricFamily(name, documentation, value=value)

    def describe(self) -> Iterable[Metric]:
        return []


class Exposition:
    """What one scrape answers."""

    def __init__(
        self,
        metrics: PrometheusMetrics,
        queue: QueueGauges,
        circuits: Callable[[], Awaitable[list[CircuitView]]],
    ) -> None:
        self._metrics = metrics
        self._queue = queue
        self._circuits = circuits
        if metrics.registry is not None:
            metrics.registry.register(queue)

    async def render(self, accept: str) -> tuple[bytes, str]:
        await self._queue.refresh()
        for circuit in await self._circuits():
            self._metrics.circuit_state(circuit.name, circuit.state)
        registry = self._metrics.registry
        if registry is None:
            # Multiprocess mode: every process's files, and this scrape's own reads.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self._queue)
            registry.register(CostCounters())  # this process's alone
        encode, content_type = choose_encoder(accept)
        return encode(registry), content_type

    def close(self) -> None:
        """The process ends: its live gauges (the circuits') leave the other processes' scrapes."""
        path = multiprocess_dir()
        if self._metrics.registry is None and path is not None:
            multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


def install_metrics_route(app: FastAPI, settings: Settings) -> None:
    """`GET /metrics`, when ROUTER_METRICS_ENABLED (otherwise there is no such route: a 404)."""
    if not settings.router_metrics_enabled:
        return
    token = (
        settings.router_metrics_token.get_secret_value() if settings.router_metrics_token else ""
    )
    expected = f"Bearer {token}".encode() if token else None  # left empty in .env: no token

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if expected is not None and not hmac.compare_digest(
            request.headers.get("authorization", "").encode(), expected
        ):
            response = error_response(
                Unauthorized("/metrics needs `Authorization: Bearer <ROUTER_METRICS_TOKEN>`")
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        exposition: Exposition = state_of(request).monitoring.exposition
        body, content_type = await exposition.render(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})
