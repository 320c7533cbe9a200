"""The time, and waiting for it: one clock for the process, which a test replaces.

`utcnow()` is what every module reads the wall time through (naive UTC: SQLite and PostgreSQL
compare those alike), and `sleep()` how the jobs that wait on the wall time wait (burst debounce,
the scheduler). A test installs a `ManualClock` with `use(clock)` and moves time itself: a window
of minutes is crossed in no time, and nothing in the test sleeps.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta


class Clock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock(Clock):
    """A clock that moves only when told (`advance`); a `sleep` ends once time has passed it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or Clock().now()
        self._moved = asyncio.Condition()
        self.sleeping = 0  # how many are waiting in `sleep` right now

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        until = self._now + timedelta(seconds=seconds)
        async with self._moved:
            self.sleeping += 1
            try:
                await self._moved.wait_for(lambda: self._now >= until)
            finally:
                self.sleeping -= 1

    async def advance(self, seconds: float) -> None:
        async with self._moved:
            self._now += timedelta(seconds=seconds)
            self._moved.notify_all()


_clock: Clock = Clock()


def utcnow() -> datetime:
    """Naive UTC, from the process's clock."""
    return _clock.now()


async def sleep(seconds: float) -> None:
    await _clock.sleep(seconds)


@contextlib.contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the process's clock until the block ends."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous
