"""A loop that does one thing every few seconds for as long as the process runs: the sweeper, the
scheduler and the heartbeat are each one. A failing round is reported and the loop goes on."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(
        self,
        name: str,
        tick: Callable[[], Awaitable[object]],
        interval: float,
        on_error: Callable[[Exception], None],
        *,
        wait_first: bool = False,
    ) -> None:
        """`tick` every `interval` seconds, the first at once (or after an interval:
        `wait_first`); `on_error` says how a round that raised is reported."""
        self._name = name
        self._tick = tick
        self._interval = interval
        self._on_error = on_error
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._tick()
            except Exception as exc:
                self._on_error(exc)
            await asyncio.sleep(self._interval)
