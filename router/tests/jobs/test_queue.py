"""The in-process queue holds a message once, however often it is asked for, and looks at it again
when it was asked for while its job ran. The Redis queue adds and acknowledges through one
client. RabbitMQ acknowledges a job once it ran and hands a worker no more jobs than it runs."""

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from app.jobs import queue as queue_module
from app.jobs.queue import JobQueue

from ..backends import fresh_rabbitmq, fresh_redis, rabbitmq_ready_messages, tcp_proxy
from ..support import wait_until


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


async def adding_only(queue_settings: dict[str, str]) -> JobQueue:
    """A JobQueue that adds jobs and runs none, as a webhook-only router's does."""
    web = JobQueue(queue_settings["queue_url"], 1, queue_settings["router_queue_name"])

    async def never(message_id: int) -> None:
        raise AssertionError("a queue that only adds ran a job")

    web.register(never)
    await web.start(receive=False)
    return web


async def test_rabbitmq_acknowledges_a_job_once_it_ran_and_redelivers_a_stopped_one() -> None:
    shared = await fresh_rabbitmq()
    web = await adding_only(shared)
    first = JobQueue(shared["queue_url"], 4, shared["router_queue_name"])
    ran: list[int] = []

    async def stuck_on_1(message_id: int) -> None:
        if message_id == 1:
            await asyncio.Event().wait()  # still running when the router stops
        ran.append(message_id)

    first.register(stuck_on_1)
    await first.start()
    await web.enqueue(1)
    await web.enqueue(2)
    await wait_until(lambda: ran == [2] and first.busy)
    # Stopped as the router's lifespan stops it: job 1 cancelled before it ended.
    assert await first.drain(0) == [1]
    await first.stop()

    second = JobQueue(shared["queue_url"], 4, shared["router_queue_name"])
    again: list[int] = []

    async def record(message_id: int) -> None:
        again.append(message_id)

    second.register(record)
    await second.start()
    await wait_until(lambda: again == [1])
    await wait_until(lambda: not second.busy)
    await second.stop()
    await web.stop()

    assert again == [1]  # 2 had been acknowledged: it came back to nobody
    assert await rabbitmq_ready_messages(shared) == 0  # nor was it left in the queue


async def test_a_rabbitmq_worker_takes_only_as_many_jobs_as_it_runs() -> None:
    shared = await fresh_rabbitmq()
    web = await adding_only(shared)
    worker = JobQueue(shared["queue_url"], 2, shared["router_queue_name"])
    gate = asyncio.Event()
    running: list[int] = []

    async def held(message_id: int) -> None:
        running.append(message_id)
        await gate.wait()

    worker.register(held)
    await worker.start()
    for message_id in range(5):
        await web.enqueue(message_id)
    await wait_until(lambda: len(running) == 2)

    # The other three wait in RabbitMQ for any worker with room, not in this one's buffer.
    ready = await rabbitmq_ready_messages(shared)
    gate.set()
    await wait_until(lambda: len(running) == 5 and not worker.busy)
    await worker.stop()
    await web.stop()

    assert ready == 3


async def test_an_enqueue_on_a_queue_server_that_hangs_fails_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The webhook answers only after it queued its jobs: a silent queue must not hold that 200.
    monkeypatch.setattr(queue_module, "ENQUEUE_TIMEOUT_SECONDS", 0.3)
    shared = await fresh_rabbitmq()
    async with tcp_proxy(shared["queue_url"], 5672) as proxy:
        web = await adding_only({**shared, "queue_url": proxy.url})
        await web.enqueue(1)
        proxy.silence()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):  # the test's own bound, were the queue's missing
                await web.enqueue(2)
        took = time.monotonic() - started
        await proxy.cut()
        await web.stop()

    assert took < 2
