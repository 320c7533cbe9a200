"""The job queue (taskiq): in-process by default, Redis when `QUEUE_URL=redis://...`, RabbitMQ
when `QUEUE_URL=amqp://...`.

The store is the source of truth and the queue only says "look at message N": a job lost with a
crashed process is found again by the sweep, which re-queues unfinished work nobody holds. A shared
queue hands a job back to another worker anyway when its worker dies before acknowledging it, and
a job is acknowledged only once it ended.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import structlog
from aio_pika import ExchangeType
from redis.asyncio import Redis
from taskiq import (
    AcknowledgeType,
    AsyncBroker,
    BrokerMessage,
    Context,
    InMemoryBroker,
    TaskiqDepends,
)
from taskiq.api import run_receiver_task
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
from taskiq_redis import RedisStreamBroker

from app.jobs.periodic import Periodic
from app.settings import amqp_url_of, redis_url_of

log = structlog.get_logger()

TASK_NAME = "router.process_message"
PING_TIMEOUT_SECONDS = 2.0
ENQUEUE_TIMEOUT_SECONDS = 5.0


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


class AmqpBroker(AioPikaBroker):
    """taskiq-aio-pika's broker on one durable queue named for this deployment.

    The queue is a quorum queue (taskiq-aio-pika's default; RabbitMQ's durable, replicated type)
    and its messages are persistent, so jobs outlive a RabbitMQ restart. Its exchange has the
    queue's name too: deployments sharing one RabbitMQ keep apart by ROUTER_QUEUE_NAME alone.
    """

    def __init__(self, url: str, queue_name: str, prefetch: int) -> None:
        super().__init__(
            url,
            # Unacknowledged deliveries RabbitMQ hands this process at once: as many as it runs,
            # so the rest wait in the queue for a worker with room instead of behind busy jobs.
            qos=prefetch,
            exchange=Exchange(name=queue_name, type=ExchangeType.DIRECT),
            task_queues=[Queue(name=queue_name)],
            dead_letter_queue=Queue(name=f"{queue_name}.dead_letter"),
            client_properties={"connection_name": queue_name},
            timeout=10,
        )
        self.queue_name = queue_name

    async def ping(self) -> None:
        """A round trip to RabbitMQ on the connection jobs are added on: does our queue exist?"""
        if self.write_channel is None:
            raise RuntimeError("the queue is not started")
        # aio-pika answers a passive declare of a queue it declared itself from its cache; the
        # channel underneath asks the server.
        channel = await self.write_channel.get_underlay_channel()
        await channel.queue_declare(self.queue_name, passive=True, timeout=PING_TIMEOUT_SECONDS)


QueueKind = Literal["memory", "redis", "rabbitmq"]


class JobQueue:
    def __init__(self, url: str, workers: int, name: str = "whatsapp-router") -> None:
        """`url` is QUEUE_URL, already checked by the settings: memory://, redis://... or
        amqp://...; `name` is RabbitMQ's queue (ROUTER_QUEUE_NAME)."""
        self._workers = asyncio.Semaphore(workers)
        self._concurrency = workers
        self._redis_url = redis_url_of(url)
        amqp_url = amqp_url_of(url)
        self.kind: QueueKind
        self.broker: AsyncBroker
        if self._redis_url is not None:
            self.kind, self.broker = "redis", StreamBroker(self._redis_url, idle_timeout=60_000)
        elif amqp_url is not None:
            self.kind, self.broker = "rabbitmq", AmqpBroker(amqp_url, name, prefetch=workers)
        else:
            self.kind, self.broker = "memory", InMemoryBroker(max_async_tasks=workers)
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
        return self.kind == "memory"

    def register(self, handler: Callable[[int], Awaitable[None]]) -> None:
        async def process_message(message_id: int, context: Context = TaskiqDepends()) -> None:
            try:
                await run(message_id)
            finally:
                # Acknowledged once the job ended, well or not (the store knows which). A job
                # cancelled before its end, at shutdown, is not: taskiq would acknowledge it as
                # run, and the queue hands an unacknowledged job to another worker instead.
                task = asyncio.current_task()
                if context.is_ackable and task is not None and not task.cancelling():
                    await context.ack()

        async def run(message_id: int) -> None:
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
            # Bounded: a queue server that stops answering must not hold a webhook's 200. The
            # message is stored; the sweep queues it again.
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                await self._task.kiq(message_id)
        except BaseException:
            self._waiting.discard(message_id)
            raise

    async def submit(self, message_id: int, *, by: str) -> None:
        """Queue the job of a message stored already, or leave it to the sweep: a queue that does
        not take it is logged (`<by>.enqueue_failed`), never the caller's failure, since the
        sweep queues every unfinished message again once the queue is back."""
        try:
            await self.enqueue(message_id)
        except Exception:
            log.exception(f"{by}.enqueue_failed", message_id=message_id)

    async def start(self, *, receive: bool = True) -> None:
        """Open the broker; with `receive`, also run this process's share of the jobs."""
        receiving = receive and not self.in_process
        # Set before start-up: the RabbitMQ broker opens its consuming connection only in a worker.
        self.broker.is_worker_process = receiving
        await self.broker.startup()
        if receiving:
            self._receiver = asyncio.create_task(
                run_receiver_task(
                    self.broker,
                    max_async_tasks=self._concurrency,
                    # process_message acknowledges: a job whose process dies or stops before it
                    # ends is delivered again.
                    ack_time=AcknowledgeType.MANUAL,
                )
            )

    @property
    def running(self) -> int:
        """Jobs running in this process now."""
        return len(self._in_flight)

    @property
    def running_ids(self) -> list[int]:
        """The messages whose jobs run in this process now."""
        return list(self._in_flight.values())

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
        cancelled = list(self._in_flight)
        for task in cancelled:
            task.cancel()
        if cancelled:
            # Until they have stopped: a job must not send after its router has stopped.
            await asyncio.wait(cancelled, timeout=1.0)
        return stopped

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        await self.broker.shutdown()

    async def ping(self) -> None:
        if self._redis_url is not None:
            async with Redis.from_url(
                self._redis_url, socket_timeout=PING_TIMEOUT_SECONDS
            ) as redis:
                await redis.ping()
        elif isinstance(self.broker, AmqpBroker):
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                await self.broker.ping()


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
        self._loop = Periodic(
            "sweeper",
            self.sweep,
            interval,
            lambda _: log.exception("sweep.failed"),
            wait_first=True,  # a start sweeps at once by itself (app/lifespan.py)
        )

    async def sweep(self, *, everything_unheld: bool = False) -> int:
        ids = await self._find(everything_unheld)
        for message_id in ids:
            await self._enqueue(message_id)
        if ids:
            log.info("sweep.requeued", messages=len(ids))
        return len(ids)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


class LeaseKeeper:
    """While a job runs, its message stays held: every third of a lease, the leases of the jobs
    running in this process are renewed, in one statement.

    A lease says how long a job may take before another worker takes its message over. A job that
    outlasts it while it still works (a slow Graph API or Server, an agent's model, a wait for the
    rate limit, a machine too busy to run it) would otherwise be taken over by a second worker,
    which finds its send started and, its reply unknown, sends it again. A process that stops
    renewing (killed, frozen) loses its messages to the sweep a lease later, as before.
    """

    def __init__(
        self,
        running: Callable[[], list[int]],
        keep: Callable[[list[int], float], Awaitable[None]],
        lease_seconds: float,
    ) -> None:
        self._running = running
        self._keep = keep
        self._lease_seconds = lease_seconds
        self._loop = Periodic(
            "lease-keeper",
            self.renew,
            lease_seconds / 3,
            lambda _: log.exception("leases.renew_failed"),
            wait_first=True,  # a job just claimed holds a whole lease
        )

    async def renew(self) -> None:
        if ids := self._running():
            await self._keep(ids, self._lease_seconds)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
