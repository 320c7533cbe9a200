"""What the monitoring endpoints answer: the queue from the store, the workers from their
heartbeats, the rate limits from the limiter, the circuit breakers from purgatory."""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents.backend import Backend
from app.core.clock import utcnow
from app.core.errors import StoreUnavailable
from app.jobs.queue import JobQueue
from app.monitoring.heartbeat import Heartbeat
from app.monitoring.repository import Beat, MonitoringRepository
from app.monitoring.schemas import (
    Circuit,
    Circuits,
    Health,
    ProcessCircuits,
    QueueHealth,
    QueueOut,
    RateLimit,
    RateLimitHealth,
    RateLimits,
    WorkerOut,
)
from app.observability.circuits import CircuitView, circuit_view
from app.observability.exposition import Exposition, QueueGauges
from app.observability.metrics import Metrics, PrometheusMetrics
from app.outbound.ratelimit import SendRateLimiter
from app.settings import Settings

log = structlog.get_logger()

# A worker whose last heartbeat is older is not listed: it stopped or died.
SEEN_WITHIN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ThisProcess:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: datetime = field(default_factory=utcnow)


class Monitoring:
    def __init__(
        self,
        repository: MonitoringRepository,
        queue: JobQueue,
        backend: Backend,
        limiter: SendRateLimiter,
        *,
        process_jobs: bool,
        heartbeat_seconds: float,
    ) -> None:
        self._repository = repository
        self._queue = queue
        self._backend = backend
        self._limiter = limiter
        self.process = ThisProcess()
        self._process_jobs = process_jobs
        self._heartbeat = Heartbeat(repository, self._beat, heartbeat_seconds)
        # GET /metrics' answer, when the metrics are on.
        self.exposition: Exposition | None = None

    @property
    def state(self) -> dict[str, Any]:
        """Its part of the lifespan's state, for the endpoints."""
        return {"monitoring": self, "exposition": self.exposition}

    def start(self) -> None:
        """A process that runs jobs starts its heartbeat."""
        if self._process_jobs:
            self._heartbeat.start()

    async def stop(self) -> None:
        await self._heartbeat.stop()
        if self.exposition is not None:
            self.exposition.close()

    async def circuits_here(self) -> list[CircuitView]:
        now = time.time()
        return [circuit_view(context, now) for context in await self._backend.circuits()]

    async def _beat(self) -> Beat:
        circuits = await self.circuits_here()
        return Beat(
            id=self.process.id,
            hostname=self.process.hostname,
            pid=self.process.pid,
            queue=self._queue.kind,
            started_at=self.process.started_at,
            running=self._queue.running,
            circuits=[Circuit.model_validate(c).model_dump(mode="json") for c in circuits],
        )

    async def queue(self) -> QueueOut:
        counts = await self._repository.queue()
        failed = await self._repository.failed()
        workers = await self._repository.workers(SEEN_WITHIN)
        waited = (utcnow() - counts.oldest).total_seconds() if counts.oldest else 0.0
        return QueueOut(
            depth=counts.depth,
            oldest_age_seconds=max(waited, 0.0),
            in_flight=counts.in_flight,
            retrying=counts.retrying,
            failed=failed,
            workers=[WorkerOut.model_validate(worker) for worker in workers],
        )

    async def queue_health(self) -> QueueHealth:
        """The queue's figures, and whether the queue answers. The figures are the store's: when
        it does not answer, StoreUnavailable."""
        status = await _probe("queue", self._queue.ping)
        try:
            figures = await self.queue()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                f"the database does not answer ({type(exc).__name__}): the queue's figures are "
                "read from it"
            ) from exc
        return QueueHealth(status=status, queue=self._queue.kind, **dict(figures))

    async def rate_limit_health(self) -> RateLimitHealth:
        """Whether the rate limit's store answers (Redis when configured; memory always does)."""
        limiter = self._limiter
        return RateLimitHealth(
            status=await _probe("rate_limit", limiter.ping),
            store=limiter.store,
            window="shared" if limiter.shared else "process",
            messages_per_second=limiter.per_second,
        )

    async def rate_limits(self) -> RateLimits:
        """Every WhatsApp channel's number, and any other this process sent from."""
        numbers = set(await self._repository.numbers()) | set(self._limiter.stats.numbers())
        items = await asyncio.gather(*(self._rate_limit(number) for number in sorted(numbers)))
        return RateLimits(items=list(items))

    async def rate_limit(self, phone_number_id: str) -> RateLimit | None:
        """None for a number that is no channel's and that this process never sent from."""
        if self._limiter.stats.counts(phone_number_id) is None and not (
            await self._repository.is_channel(phone_number_id)
        ):
            return None
        return await self._rate_limit(phone_number_id)

    async def rate_limit_of_number(self, number: str) -> RateLimit | None:
        """One number's, by its phone_number_id or its display number (digits, with or without
        "+"; an id is never written with "+"). None for a number that is neither."""
        if not number.startswith("+"):
            found = await self.rate_limit(number)
            if found is not None:
                return found
        phone_number_id = await self._repository.number_displayed_as(number.removeprefix("+"))
        return None if phone_number_id is None else await self._rate_limit(phone_number_id)

    async def _rate_limit(self, phone_number_id: str) -> RateLimit:
        limiter = self._limiter
        try:
            last_second: int | None = await limiter.sent_last_second(phone_number_id)
        except Exception as exc:
            log.warning("monitoring.rate_limit_unread", error=type(exc).__name__)
            last_second = None
        counts = limiter.stats.counts(phone_number_id)
        return RateLimit(
            phone_number_id=phone_number_id,
            messages_per_second=limiter.per_second,
            window="shared" if limiter.shared else "process",
            sent_last_second=last_second,
            sent_last_minute=counts.sent_last_minute if counts else 0,
            waits=counts.waits if counts else 0,
            waited_seconds=round(counts.waited_seconds, 6) if counts else 0.0,
            throttled=counts.throttled if counts else 0,
        )

    async def circuits(self) -> Circuits:
        """This process's breakers, read now; every other worker's, as its last heartbeat gave
        them (each process has breakers of its own)."""
        here = ProcessCircuits(
            worker=self.process.id if self._process_jobs else None,
            hostname=self.process.hostname,
            pid=self.process.pid,
            this_process=True,
            reported_at=utcnow(),
            circuits=[Circuit.model_validate(c) for c in await self.circuits_here()],
        )
        others = [
            ProcessCircuits(
                worker=worker.id,
                hostname=worker.hostname,
                pid=worker.pid,
                this_process=False,
                reported_at=worker.seen_at,
                circuits=[Circuit.model_validate(c) for c in worker.circuits],
            )
            for worker in await self._repository.workers(SEEN_WITHIN)
            if worker.id != self.process.id
        ]
        return Circuits(items=[here, *others])


async def _probe(name: str, ping: Callable[[], Awaitable[None]]) -> Health:
    try:
        await ping()
    except Exception as exc:
        log.warning("monitoring.unavailable", what=name, error=type(exc).__name__)
        return "unavailable"
    return "ok"


def start_monitoring(
    settings: Settings,
    engine: AsyncEngine,
    metrics: Metrics,
    queue: JobQueue,
    backend: Backend,
    limiter: SendRateLimiter,
) -> Monitoring:
    """The monitoring API's service with its heartbeat started, and what /metrics reads at
    scrape time."""
    repository = MonitoringRepository(engine)
    monitoring = Monitoring(
        repository,
        queue,
        backend,
        limiter,
        process_jobs=settings.router_process_jobs,
        heartbeat_seconds=settings.router_heartbeat_seconds,
    )
    if isinstance(metrics, PrometheusMetrics):
        gauges = QueueGauges(repository.queue, settings.router_metrics_cache_seconds)
        monitoring.exposition = Exposition(metrics, gauges, monitoring.circuits_here)
    monitoring.start()
    return monitoring
