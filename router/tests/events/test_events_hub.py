"""The events hub on a real store: a subscriber that does not keep up is cut off (its memory
bounded); one that does gets every event once, in order."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.core.clock import utcnow
from app.core.engine import create_engine, migrate
from app.events import hub as hub_module
from app.events import repository
from app.events.bus import LocalBus
from app.events.hub import EventHub
from app.events.repository import Change

from ..factories.contacts import contact
from ..factories.store import Sessions
from ..factories.tenants import tenant


async def test_a_subscriber_that_does_not_read_is_cut_off_and_one_that_reads_gets_all(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    sessions: Sessions = async_sessionmaker(engine, expire_on_commit=False)
    acme = await tenant(sessions)
    person = await contact(sessions, acme.id, wa_id="15550007777")
    hub = EventHub(engine, LocalBus(), retention_seconds=3600, queue_size=10, poll_seconds=0.05)
    await hub.start(prune=False)
    try:
        async with hub.subscribe(acme.id) as slow:
            received: list[int] = []

            async def read_all() -> None:
                async for delivered in hub.stream(acme.id, since=None):
                    received.append(delivered.id)
                    if len(received) == 30:
                        return

            reader = asyncio.create_task(read_all())
            await asyncio.sleep(0)  # subscribed before the events are stored
            for round_ in range(1, 4):
                async with engine.begin() as connection:
                    change = Change(acme.id, "contact.updated", person.id)
                    await repository.record(connection, [change] * 10, utcnow())
                hub.committed()
                async with asyncio.timeout(10):  # each round read before the next is stored
                    while len(received) < 10 * round_:
                        await asyncio.sleep(0.01)
            async with asyncio.timeout(10):
                while not slow.cut_off:
                    await asyncio.sleep(0.01)
                await reader
            # Never more than its queue's size held for it, then the end of its stream.
            assert slow.queue.qsize() == 1
            assert slow.queue.get_nowait() is None
            assert received == sorted(set(received))
            assert len(received) == 30
    finally:
        await hub.aclose()
        await engine.dispose()


async def test_events_older_than_the_retention_window_are_pruned_in_batches(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    monkeypatch.setattr(hub_module, "PRUNE_BATCH", 3)
    hub = EventHub(engine, LocalBus(), retention_seconds=3600)
    now = utcnow()
    try:
        async with engine.begin() as connection:
            old = [Change(1, "contact.updated", n) for n in range(7)]
            await repository.record(connection, old, now - timedelta(hours=2))
            await repository.record(connection, [Change(1, "contact.updated", 99)], now)
        assert await hub.prune_once() == 7
        async with engine.connect() as connection:
            kept = await repository.after(connection, 0, 100)
        assert [e.object_id for e in kept] == [99]
        assert kept[0].id == 8
    finally:
        await engine.dispose()
