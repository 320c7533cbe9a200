"""The job queue (taskiq): in-process by default, Redis when `QUEUE_URL=redis://...`.

The store is the source of truth and the queue only says "look at message N": a job lost with a
crashed process is found again by the sweep, which re-queues unfinished work nobody holds.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from taskiq import AsyncBroker, BrokerMessage, InMemoryBroker
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

from app.settings import redis_url_of

log = structlog.get_logger()

TASK_NAME = "router.process_message"


class StreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, with one Redis client for all its adds and acks.

    The stock broker builds a new client around its connection pool for every message it adds
    and every one it acknowledges; a webhook router spent a quarter of its CPU doing so. Commands
    still take their connections from the broker's pool, so concurrent jobs do not share one.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._client = Redis(connection_pool=self.connection_pool)

    async def kick(self, message: BrokerMessage) -> None:
        await self._client.xadd(
            message.labels.get("queue_name") or self.queue_name,
            {b"data": message.message},
            maxlen=self.maxlen,
            approximate=self.approximate,
        )

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            await self._client.xack(queue_name, self.consumer_group_name, id)

        return ack

    async def shutdown(self) -> None:
        await self._client.aclose(close_connection_pool=False)
        await super().shutdown()


class JobQueue:
    def __init__(self, url: str, workers: int) -> None:
        """`url` is QUEUE_URL, already checked by the settings: memory:// or redis://..."""
        self._workers = asyncio.Semaphore(workers)
        self._concurrency = workers
        self._redis_url = redis_url_of(url)
        self.broker: AsyncBroker = (
            StreamBroker(self._redis_url, idle_timeout=60_000)
            if self._redis_url
            else InMemoryBroker(max_async_tasks=workers)
        )
        self._receiver: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[object], int] = {}
        # In-process only (a Redis queue is shared, not ours to know): the messages queued here and
        # not started yet, and those running with whether they were asked for again meanwhile.
        # A message is queued once however often it is asked for: the sweep and a finished
        # predecessor may both ask while it waits behind a long backlog.
        self._waiting: set[int] = set()
        self._running: dict[int, bool] = {}

    @property
    def in_process(self) -> bool:
        return self._redis_url is None

    def register(self, handler: Callable[[int], Awaitable[None]]) -> None:
        async def process_message(message_id: int) -> None:
            async with self._workers:
                task = asyncio.current_task()
                assert task is not None
                self._in_flight[task] = message_id
                if self.in_process:
                    self._waiting.discard(message_id)
                    self._running[message_id] = False
                try:
                    await handler(message_id)
                finally:
                    self._in_flight.pop(task, None)
                    asked_again = self._running.pop(message_id, False)
            if asked_again:
                # Asked for while it ran (say its predecessor finished just after this job found
                # it not yet its turn): look at it once more.
                await self.enqueue(message_id)

        self._task = self.broker.register_task(process_message, task_name=TASK_NAME)

    async def enqueue(self, message_id: int) -> None:
        if self.in_process:
            if message_id in self._waiting:
                return
            if message_id in self._running:
                self._running[message_id] = True
                return
            self._waiting.add(message_id)
        try:
            await self._task.kiq(message_id)
        except BaseException:
            self._waiting.discard(message_id)
            raise

    async def start(self, *, receive: bool = True) -> None:
        """Open the broker; with `receive`, also run this process's share of the jobs."""
        await self.broker.startup()
        if receive and not self.in_process:
            self._receiver = asyncio.create_task(
                run_receiver_task(self.broker, max_async_tasks=self._concurrency)
            )

    @property
    def busy(self) -> bool:
        """Jobs running or waiting in this process (the in-process broker's included)."""
        return bool(self._in_flight) or bool(self._waiting)

    async def drain(self, grace_seconds: float) -> list[int]:
        """Let running jobs finish for a while; cancel the rest and return their message ids."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
        # Jobs still waiting for a worker hold no lease: the next start's sweep finds them.
        stopped = list(self._in_flight.values())
        for task in list(self._in_flight):
            task.cancel()
        return stopped

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        await self.broker.shutdown()

    async def ping(self) -> None:
        if self._redis_url is not None:
            async with Redis.from_url(self._redis_url, socket_timeout=2) as redis:
                await redis.ping()


class Sweeper:
    """Every few seconds, queue again the unfinished messages nobody holds."""

    def __init__(
        self,
        find: Callable[[bool], Awaitable[list[int]]],
        enqueue: Callable[[int], Awaitable[None]],
        interval: float,
    ) -> None:
        self._find = find
        self._enqueue = enqueue
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sweep(self, *, everything_unheld: bool = False) -> int:
        ids = await self._find(everything_unheld)
        for message_id in ids:
            await self._enqueue(message_id)
        if ids:
            log.info("sweep.requeued", messages=len(ids))
        return len(ids)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep.failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
