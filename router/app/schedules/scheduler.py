"""The scheduler: in each router process that runs jobs (not in webhook-only routers), a loop
that polls the store every ROUTER_SCHEDULER_INTERVAL_SECONDS for due schedules, runs them (see
runs.py; up to runs.BATCH a poll) and queues their messages. Off the webhook's path; one
indexed query when nothing is due."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.hub import EventRecorder
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
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

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

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception as exc:
                # The store is down, say: the schedules stay due until it is back.
                log.warning("scheduler.poll_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
