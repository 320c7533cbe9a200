"""Running message work after the webhook has answered.

Meta wants its 200 fast, so the webhook only reads and de-duplicates; the slow part (the Server, the
Graph API) runs here, in background tasks that shutdown waits for.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger()


class RecentIds:
    """The most recent message ids seen, bounded, to answer each `wamid` once."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, wamid: str) -> bool:
        """Remember `wamid`; False when it was already there. Atomic on the event loop."""
        if wamid in self._ids:
            self._ids.move_to_end(wamid)
            return False
        self._ids[wamid] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


class Dispatcher:
    """Keeps a reference to every background task and lets shutdown finish them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("dispatch.task_failed", exc_info=exc)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until no work is left, including work that work submits."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, grace_seconds: float) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("dispatch.cancelled_at_shutdown", tasks=len(pending))
