"""The heartbeat of a router process that runs jobs: its row in `workers`, renewed every
ROUTER_HEARTBEAT_SECONDS, so that `/api/v1/monitoring/queue` can list the workers alive whichever
process answers, on any queue (the store is the one thing every deployment shares).

One small upsert per interval and process; a worker that stops cleanly removes its row, one that
dies leaves it to age out of the list (a minute) and of the table (a day).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from app.monitoring.repository import Beat, MonitoringRepository

log = structlog.get_logger()


class Heartbeat:
    def __init__(
        self,
        repository: MonitoringRepository,
        describe: Callable[[], Awaitable[Beat]],
        interval: float,
    ) -> None:
        self._repository = repository
        self._describe = describe
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._worker_id: str | None = None

    async def beat(self) -> None:
        beat = await self._describe()
        self._worker_id = beat.id
        await self._repository.beat(beat)

    async def _loop(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception as exc:
                # The store is down, say: the worker drops out of the list until it is back.
                log.warning("heartbeat.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._worker_id is not None:
            try:
                await self._repository.forget(self._worker_id)
            except Exception as exc:
                log.warning("heartbeat.forget_failed", error=type(exc).__name__)
