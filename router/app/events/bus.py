"""How one router process tells the others that events were stored: Redis pub/sub when the queue is
Redis, PostgreSQL's LISTEN/NOTIFY when the store is PostgreSQL, else nothing (one process).

A message on the bus says only "there is something new": each process then reads the new rows from
the events table (app/events/hub.py), in id order, so whatever the bus delivers late, twice or
not at all, a subscriber receives every event once and in order. Wake-ups are coalesced: while one
is being sent, any number of commits make one more. A hub also polls the store every few seconds
while it has subscribers, so a bus down for a while delays events, never loses them.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

import structlog
from sqlalchemy.engine import make_url

from app.settings import Settings, redis_url_of

log = structlog.get_logger()

RETRY_SECONDS = 1.0
PG_CHANNEL = "router_events"


class Bus(Protocol):
    kind: str

    async def start(self, on_wake: Callable[[], None]) -> None: ...

    def publish(self) -> None:
        """Tell the other processes (never blocks; sent in the background)."""

    async def aclose(self) -> None: ...


class LocalBus:
    """One process: its own commits wake its hub directly."""

    kind = "memory"

    async def start(self, on_wake: Callable[[], None]) -> None:
        return None

    def publish(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _Coalesced:
    """A background sender: `publish()` asks for one send; asks made while one is sent make one
    more, not one each."""

    kind = "?"

    def __init__(self) -> None:
        self._asked = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def publish(self) -> None:
        self._asked.set()

    async def _send(self) -> None:
        raise NotImplementedError

    async def _sender(self) -> None:
        while True:
            await self._asked.wait()
            self._asked.clear()
            try:
                await self._send()
            except Exception as exc:
                # The others' hubs poll the store: a wake-up missed is an event a little late.
                log.warning("events.bus_send_failed", bus=self.kind, error=type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)

    def _spawn(self, coroutine: object, name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=name))  # type: ignore[arg-type]

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


class RedisBus(_Coalesced):
    kind = "redis"

    def __init__(self, url: str) -> None:
        super().__init__()
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        # Pub/sub channels are not per database: the database's number keeps deployments that
        # share a Redis server (each on its own database) apart.
        self._channel = f"whatsapp-router:events:{make_url(url).database or 0}"

    async def start(self, on_wake: Callable[[], None]) -> None:
        self._spawn(self._sender(), "events-bus-send")
        self._spawn(self._listen(on_wake), "events-bus-listen")

    async def _send(self) -> None:
        await self._redis.publish(self._channel, b"1")

    async def _listen(self, on_wake: Callable[[], None]) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    on_wake()  # whatever came while not subscribed
                    async for _ in pubsub.listen():
                        on_wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events.bus_listen_failed", bus=self.kind, error=type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)

    async def aclose(self) -> None:
        await self._stop_tasks()
        await self._redis.aclose()


class PostgresBus(_Coalesced):
    kind = "postgresql"

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._connection: object | None = None
        self._ready = asyncio.Event()

    async def start(self, on_wake: Callable[[], None]) -> None:
        self._spawn(self._sender(), "events-bus-send")
        self._spawn(self._listen(on_wake), "events-bus-listen")

    async def _send(self) -> None:
        await self._ready.wait()
        assert self._connection is not None
        await self._connection.execute(f"NOTIFY {PG_CHANNEL}")  # type: ignore[attr-defined]

    async def _listen(self, on_wake: Callable[[], None]) -> None:
        import asyncpg

        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except Exception as exc:
                log.warning("events.bus_listen_failed", bus=self.kind, error=type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            lost = asyncio.Event()
            try:
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(PG_CHANNEL, lambda *_: on_wake())
                self._connection = connection
                self._ready.set()
                on_wake()  # whatever came while not listening
                await lost.wait()
                log.warning("events.bus_connection_lost", bus=self.kind)
            finally:
                self._ready.clear()
                self._connection = None
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)

    async def aclose(self) -> None:
        await self._stop_tasks()


def bus_for(settings: Settings) -> Bus:
    redis_url = redis_url_of(settings.queue_url)
    if redis_url is not None:
        return RedisBus(redis_url)
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        return PostgresBus(settings.database_url)
    return LocalBus()
