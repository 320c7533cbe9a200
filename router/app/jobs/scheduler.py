"""The scheduler: in each router process that runs jobs (not in webhook-only routers), a loop
that polls the store every ROUTER_SCHEDULER_INTERVAL_SECONDS for due schedules, runs them (see
runs.py; up to runs.BATCH a poll) and queues their messages. Off the webhook's path; one
indexed query when nothing is due."""

from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.hub import EventRecorder
from app.jobs.periodic import Periodic
from app.schedules.runs import run_due

log = structlog.get_logger()


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        enqueue: Callable[[int], Awaitable[None]],
        interval: float,
        events: EventRecorder | None = None,
    ) -> None:
        self._engine = engine
        self._events = events
        self._enqueue = enqueue
        self._loop = Periodic("scheduler", self.poll, interval, _poll_failed)

    async def poll(self) -> int:
        """Run what is due now; return how many messages were queued."""
        queued = 0
        for message_id in await run_due(self._engine, events=self._events):
            try:
                await self._enqueue(message_id)
                queued += 1
            except Exception:
                # Stored already: the sweep queues it once the queue is back.
                log.exception("schedule.enqueue_failed", message_id=message_id)
        return queued

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


def _poll_failed(exc: Exception) -> None:
    # The store is down, say: the schedules stay due until it is back.
    log.warning("scheduler.poll_failed", error=type(exc).__name__)
