"""The in-process queue holds a message once, however often it is asked for, and looks at it again
when it was asked for while its job ran."""

import asyncio

from app.queue import JobQueue


async def test_a_message_waiting_in_the_queue_is_queued_once() -> None:
    queue = JobQueue("memory://", workers=1)
    seen: list[int] = []
    gate = asyncio.Event()

    async def handler(message_id: int) -> None:
        seen.append(message_id)
        await gate.wait()

    queue.register(handler)
    await queue.start()
    for message_id in (1, 2, 2, 2, 3, 3):  # 1 runs and holds the only worker; 2 and 3 wait
        await queue.enqueue(message_id)
    await asyncio.sleep(0.05)
    gate.set()
    while queue.busy:
        await asyncio.sleep(0.01)
    await queue.stop()

    assert seen == [1, 2, 3]


async def test_a_message_asked_for_while_its_job_runs_is_looked_at_again() -> None:
    queue = JobQueue("memory://", workers=4)
    seen: list[int] = []
    started = asyncio.Event()
    gate = asyncio.Event()

    async def handler(message_id: int) -> None:
        seen.append(message_id)
        started.set()
        await gate.wait()

    queue.register(handler)
    await queue.start()
    await queue.enqueue(7)
    await started.wait()
    await queue.enqueue(7)  # say its predecessor finished just now
    await queue.enqueue(7)
    gate.set()
    while queue.busy:
        await asyncio.sleep(0.01)
    await queue.stop()

    assert seen == [7, 7]
