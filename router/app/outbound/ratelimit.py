"""Outbound throughput per phone number, with the `limits` library.

Where the budget is kept is ROUTER_RATE_LIMIT_URL (settings.rate_limit_url): in Redis when the
queue is Redis, so that every router process shares one budget per number; in memory otherwise,
one budget per process. A RabbitMQ queue brings no shared store of its own: several processes on it
share a budget only when ROUTER_RATE_LIMIT_URL names a Redis.
"""

import asyncio
import time
from typing import Literal

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError as LimitsStorageError
from limits.storage import storage_from_string
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import RedisError

from app.core.errors import SendRetryable
from app.observability.metrics import Metrics
from app.observability.sends import SendStats
from app.settings import redis_url_of

# Connections to Redis for the limit; a send beyond them waits for one instead of failing.
REDIS_CONNECTIONS = 32
# A health check's wait for the store; the queue's ping waits as long (app/jobs/queue.py).
PING_TIMEOUT_SECONDS = 2.0


def storage_for(url: str) -> Storage:
    """The limit's store for `url`: redis://... or, for anything else, this process's memory."""
    redis_url = redis_url_of(url)
    if redis_url is not None:
        # redis-py, the client the queue uses too (limits' default, coredis, would be a second one).
        pool = BlockingConnectionPool.from_url(
            redis_url, max_connections=REDIS_CONNECTIONS, timeout=10
        )
        storage = storage_from_string(
            f"async+{redis_url}",
            implementation="redispy",
            connection_pool=pool,  # type: ignore[arg-type]  # limits hands it to redis-py
        )
        assert isinstance(storage, Storage)
        return storage
    return MemoryStorage()


class SendRateLimiter:
    def __init__(self, storage: Storage, per_second: int, metrics: Metrics | None = None) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._item = RateLimitItemPerSecond(per_second)
        self.per_second = per_second
        # The window is every process's when it is kept in Redis.
        self.shared = not isinstance(storage, MemoryStorage)
        self.stats = SendStats()
        self._metrics = metrics or Metrics()

    async def wait(self, phone_number_id: str) -> None:
        """Return once one more message may go out from this number.

        Raises SendRetryable when the limit's store (Redis) does not answer: the send is tried
        again later, like any other passing failure.
        """
        started = time.perf_counter()
        waited = False
        try:
            while not await self._limiter.hit(self._item, "send", phone_number_id):
                waited = True
                stats = await self._limiter.get_window_stats(self._item, "send", phone_number_id)
                await asyncio.sleep(min(max(stats.reset_time - time.time(), 0.001), 1.0))
        except (RedisError, LimitsStorageError) as exc:
            raise SendRetryable(f"the rate limit's store failed ({type(exc).__name__})") from exc
        seconds = time.perf_counter() - started
        self._metrics.rate_limit_waited(phone_number_id, seconds)
        self.stats.sent(phone_number_id, seconds if waited else None)

    @property
    def store(self) -> Literal["memory", "redis"]:
        return "redis" if self.shared else "memory"

    async def ping(self) -> None:
        """Raise when the limit's store does not answer: no send can go out then. Memory always
        answers."""
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            answered = await self._storage.check()
        if not answered:
            raise ConnectionError("the rate limit's store did not answer")

    def throttled(self, phone_number_id: str) -> None:
        """Meta refused a send from this number with 130429: its throughput is reached."""
        self.stats.throttled(phone_number_id)

    async def sent_last_second(self, phone_number_id: str) -> int:
        """Sends from this number in the last second, as the limit's window holds them: every
        process's when it is kept in Redis, this process's otherwise."""
        stats = await self._limiter.get_window_stats(self._item, "send", phone_number_id)
        return self.per_second - stats.remaining

    async def aclose(self) -> None:
        """Close the Redis connections, if any (limits has no public close for them)."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose(close_connection_pool=True)
