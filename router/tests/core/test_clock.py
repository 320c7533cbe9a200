"""The process's clock (app/core/clock.py): what a test puts in its place moves only when told."""

import asyncio

from app.core import clock
from app.core.clock import ManualClock, utcnow

from ..support import wait_until


async def test_a_manual_clock_moves_only_when_told_and_wakes_the_sleepers_it_passes() -> None:
    with clock.use(ManualClock()) as manual:
        assert isinstance(manual, ManualClock)
        start = utcnow()
        short = asyncio.create_task(clock.sleep(1))
        long = asyncio.create_task(clock.sleep(5))
        await wait_until(lambda: manual.sleeping == 2, timeout=5, what="both sleepers")
        assert utcnow() == start

        await manual.advance(1)
        async with asyncio.timeout(5):
            await short
        assert not long.done()
        assert (utcnow() - start).total_seconds() == 1

        await manual.advance(4)
        async with asyncio.timeout(5):
            await long
    assert utcnow() > start  # the machine's clock again
