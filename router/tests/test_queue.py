"""The in-process queue holds a message once, however often it is asked for, and looks at it again
when it was asked for while its job ran. The Redis queue adds and acknowledges through one
client."""

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from app.queue import JobQueue

from .backends import fresh_redis


async def idle(queue: JobQueue) -> None:
    async with asyncio.timeout(5):
        while queue.busy:
            await asyncio.sleep(0.01)


async def test_a_message_waiting_in_the_queue_is_queued_once() -> None:
    queue = JobQueue("memory://", workers=1)
    seen: list[int] = []
    started = asyncio.Event()
    gate = asyncio.Event()

    async def handler(message_id: int) -> None:
        seen.append(message_id)
        started.set()
        await gate.wait()

    queue.register(handler)
    await queue.start()
    await queue.enqueue(1)
    await asyncio.wait_for(started.wait(), timeout=5)  # 1 runs and holds the only worker
    for message_id in (2, 2, 2, 3, 3):  # 2 and 3 wait
        await queue.enqueue(message_id)
    gate.set()
    await idle(queue)
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
    await idle(queue)
    await queue.stop()

    assert seen == [7, 7]


async def test_jobs_on_redis_are_added_and_acknowledged_through_one_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = await fresh_redis()
    workers = JobQueue(url, workers=8)
    seen: list[int] = []
    done = asyncio.Event()

    async def handler(message_id: int) -> None:
        seen.append(message_id)
        if len(seen) == 50:
            done.set()

    workers.register(handler)
    await workers.start()
    clients = 0
    build = Redis.__init__

    def counted(self: Redis, *args: Any, **kwargs: Any) -> None:
        nonlocal clients
        clients += 1
        build(self, *args, **kwargs)

    async def acknowledged(redis: Redis) -> int:
        while (pending := await redis.xpending("taskiq", "taskiq"))["pending"]:
            await asyncio.sleep(0.01)
        return int(pending["pending"])

    async with Redis.from_url(url) as redis:  # built before the count starts
        monkeypatch.setattr(Redis, "__init__", counted)
        for message_id in range(50):
            await workers.enqueue(message_id)
        await asyncio.wait_for(done.wait(), timeout=10)
        # The acknowledgements follow each job: wait for them, still counting.
        pending = await asyncio.wait_for(acknowledged(redis), timeout=10)
        monkeypatch.undo()
    await workers.stop()

    assert sorted(seen) == list(range(50))
    assert pending == 0  # every job acknowledged
    # At most the receiver's own, for its reads, if it started listening only now.
    assert clients <= 1, f"{clients} Redis clients built for 50 jobs"
