"""The heartbeat of a router process that runs jobs: its row in `workers`, renewed every
ROUTER_HEARTBEAT_SECONDS, so that `/api/v1/monitoring/queue` can list the workers alive whichever
process answers, on any queue (the store is the one thing every deployment shares).

One small upsert per interval and process; a worker that stops cleanly removes its row, one that
dies leaves it to age out of the list (a minute) and of the table (a day).
"""

from collections.abc import Awaitable, Callable

import structlog

from app.jobs.periodic import Periodic
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
        self._loop = Periodic("heartbeat", self.beat, interval, _beat_failed)
        self._worker_id: str | None = None

    async def beat(self) -> None:
        beat = await self._describe()
        self._worker_id = beat.id
        await self._repository.beat(beat)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        if not self._loop.running:
            return
        await self._loop.stop()
        if self._worker_id is not None:
            try:
                await self._repository.forget(self._worker_id)
            except Exception as exc:
                log.warning("heartbeat.forget_failed", error=type(exc).__name__)


def _beat_failed(exc: Exception) -> None:
    # The store is down, say: the worker drops out of the list until it is back.
    log.warning("heartbeat.failed", error=type(exc).__name__)
