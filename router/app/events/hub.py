"""The events of this process's subscribers: one reader of the events table per process, woken by a
local commit or by the bus (app/events/bus.py), hands each new event to the subscribers of its
tenant. Nothing runs for events while no one is subscribed, so the message path pays only for
storing its rows.

Each subscriber has a bounded queue. One that does not keep up (its queue full) is cut off: its
stream ends, and it reconnects with the last id it received to be replayed the rest from the store.
A slow client never makes the process hold more than `queue_size` events for it.

Under load a process commits many rounds a second; the reader reads at most once per
`COALESCE_SECONDS` (the rounds committed meanwhile in one read) unless its last read was a full
batch, and a stream writes what was queued for it at once as one chunk, so a subscriber's cost
grows with the reads, not the events.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.clock import utcnow
from app.events import repository
from app.events.bus import Bus
from app.events.service import Delivered, materialize

log = structlog.get_logger()

READ_BATCH = 500
# How long the reader waits after a wake-up before it reads: the rounds committed meanwhile are
# read together. An event's delay to a subscriber, against reading for each round.
COALESCE_SECONDS = 0.05
POLL_SECONDS = 2.0  # with subscribers: a wake-up the bus lost is an event this late at most
PRUNE_BATCH = 5000


class EventRecorder:
    """Stores the message path's events in its group-commit rounds (app/core/writer.py), and
    tells no one: for a repository without a hub (tools, some tests)."""

    async def record(self, connection: AsyncConnection, objects: dict[str, list[int]]) -> None:
        await repository.record_objects(connection, objects, utcnow())

    def committed(self) -> None:
        return None


@dataclass(eq=False, slots=True)
class Subscription:
    tenant_id: int
    start_id: int  # the newest event when it subscribed
    queue: asyncio.Queue[Delivered | None] = field(repr=False)
    cut_off: bool = False
    # The numbers the subscriber sees (None: all): an event of another number is not theirs.
    channel_ids: frozenset[int] | None = None

    def wants(self, delivered: Delivered) -> bool:
        """The event is the subscriber's: of its tenant and, when it sees some numbers only, of
        one of them or of none (a contact's). A set lookup: no query per event."""
        if delivered.tenant_id != self.tenant_id:
            return False
        channels = self.channel_ids
        return channels is None or delivered.channel_id is None or delivered.channel_id in channels


class EventHub(EventRecorder):
    def __init__(
        self,
        engine: AsyncEngine,
        bus: Bus,
        retention_seconds: float,
        queue_size: int = 1000,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._retention = timedelta(seconds=retention_seconds)
        self._queue_size = queue_size
        self._poll_seconds = poll_seconds
        self._subscribers: set[Subscription] = set()
        self._last = 0  # the newest event handed to the subscribers
        self._wake = asyncio.Event()
        self._joining = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    @property
    def bus_kind(self) -> str:
        return self._bus.kind

    async def start(self, prune: bool = True) -> None:
        await self._bus.start(self.wake)
        self._tasks.append(asyncio.create_task(self._read(), name="events-read"))
        if prune:
            self._tasks.append(asyncio.create_task(self._prune(), name="events-prune"))

    async def aclose(self) -> None:
        # The reader also stops by itself: on Python 3.11 a cancel that lands as its wake-up
        # event is set is lost inside asyncio.wait_for, and the reader would wait on.
        self._closing = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._bus.aclose()
        for subscription in list(self._subscribers):
            self._cut(subscription)

    def wake(self) -> None:
        self._wake.set()

    def committed(self) -> None:
        """Events were committed in this process: read them here, and tell the others."""
        self._wake.set()
        self._bus.publish()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, tenant_id: int, channel_ids: frozenset[int] | None = None
    ) -> AsyncIterator[Subscription]:
        async with self._joining:
            if not self._subscribers:
                # Not read while no one listened: start from now, not from the last one read.
                self._last = max(self._last, await self.newest_id())
            subscription = Subscription(
                tenant_id, self._last, asyncio.Queue(self._queue_size), channel_ids=channel_ids
            )
            self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    async def stream(
        self, tenant_id: int, since: int | None, channel_ids: frozenset[int] | None = None
    ) -> AsyncIterator[Delivered]:
        """The tenant's events after `since` (replayed from the store), then live; without `since`,
        live from now. Every event once, in id order. Ends when the subscriber is cut off. With
        `channel_ids`, only the events of those numbers (and of none, a contact's)."""
        async for batch in self.batches(tenant_id, since, channel_ids=channel_ids):
            for delivered in batch:
                yield delivered

    async def batches(
        self,
        tenant_id: int,
        since: int | None,
        idle_seconds: float | None = None,
        channel_ids: frozenset[int] | None = None,
    ) -> AsyncIterator[list[Delivered]]:
        """As `stream`, a list at a time: what is there at once (a replayed batch, or all that was
        queued for the subscriber); an empty list after `idle_seconds` with nothing (a keep-alive's
        turn)."""
        async with self.subscribe(tenant_id, channel_ids) as subscription:
            last = subscription.start_id if since is None else since
            if since is not None:
                while True:
                    batch = await self.replay(tenant_id, last, READ_BATCH)
                    if batch:
                        if wanted := [d for d in batch if subscription.wants(d)]:
                            yield wanted
                        last = batch[-1].id
                    if len(batch) < READ_BATCH:
                        break
            queue = subscription.queue
            while True:
                try:
                    async with asyncio.timeout(idle_seconds):
                        queued = [await queue.get()]
                except TimeoutError:
                    yield []
                    continue
                while not queue.empty():
                    queued.append(queue.get_nowait())
                if queued[-1] is None:  # cut off (its queue emptied first)
                    return
                live = []
                for delivered in queued:
                    assert delivered is not None
                    if delivered.id > last:  # already replayed otherwise
                        live.append(delivered)
                        last = delivered.id
                if live:
                    yield live

    async def newest_id(self) -> int:
        """The newest event's id now. A stream asked for without `since` starts after it, so an
        event stored once the request came is sent, even while the subscription begins after the
        client saw the answer's headers (and wrote what made the event)."""
        async with self._engine.connect() as connection:
            return await repository.newest_id(connection)

    async def replay(self, tenant_id: int, after_id: int, limit: int) -> list[Delivered]:
        async with self._engine.connect() as connection:
            rows = await repository.after(connection, after_id, limit, tenant_id)
            async with AsyncSession(connection) as session:
                return await materialize(session, rows)

    def _cut(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.cut_off = True
        while not subscription.queue.empty():
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)

    def _hand_out(self, events: list[Delivered]) -> None:
        for subscription in list(self._subscribers):
            for delivered in events:
                if not subscription.wants(delivered):
                    continue
                try:
                    subscription.queue.put_nowait(delivered)
                except asyncio.QueueFull:
                    log.warning(
                        "events.subscriber_cut_off",
                        tenant_id=subscription.tenant_id,
                        queued=self._queue_size,
                    )
                    self._cut(subscription)
                    break

    async def _read(self) -> None:
        behind = False  # the last read was a full batch: more is waiting
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            if self._closing:
                return
            if not self._subscribers:
                self._wake.clear()
                continue
            if not behind:
                await asyncio.sleep(COALESCE_SECONDS)  # what commits meanwhile is read with it
            self._wake.clear()
            behind = False
            try:
                async with self._engine.connect() as connection:
                    rows = await repository.after(connection, self._last, READ_BATCH)
                    if not rows:
                        continue
                    async with AsyncSession(connection) as session:
                        events = await materialize(session, rows)
            except Exception:
                log.exception("events.read_failed", detail="read again at the next wake-up")
                await asyncio.sleep(1.0)
                continue
            # A subscriber joining meanwhile may have moved `_last` past these: never back.
            self._last = max(self._last, rows[-1].id)
            self._hand_out(events)
            if len(rows) == READ_BATCH:
                behind = True
                self._wake.set()

    async def prune_once(self) -> int:
        """Delete events older than the retention window, a batch at a time."""
        before = utcnow() - self._retention
        pruned = 0
        while True:
            async with self._engine.begin() as connection:
                count = await repository.prune(connection, before, PRUNE_BATCH)
            pruned += count
            if count < PRUNE_BATCH:
                return pruned

    async def _prune(self) -> None:
        interval = min(max(self._retention.total_seconds() / 10, 1.0), 600.0)
        while True:
            await asyncio.sleep(interval)  # not at start: nothing is old yet, much else to do
            try:
                pruned = await self.prune_once()
                if pruned:
                    log.info("events.pruned", count=pruned)
            except Exception:
                log.exception("events.prune_failed")
