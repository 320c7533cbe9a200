"""The group-commit writer: concurrent writes share transactions, each caller gets its own answer,
and one bad write (refused by the database, or failing before it gets there) does not fail the
others of its round."""

import asyncio
import dataclasses
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.channels.seed import seed_default_channel
from app.core.engine import create_engine, migrate, session_factory
from app.core.writer import GroupCommit
from app.inbound.payload import InboundMessage, StatusUpdate
from app.messages.models import InboundStatus, Message, MessageRow, OutboundStatus
from app.messages.store import Ending, MessageRepository
from tests.backends import POSTGRES_DATABASE, POSTGRES_URL, fresh_postgres, migrated_store
from tests.conftest import make_settings
from tests.meta import parsed_text


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        # The number the messages below are sent to is a channel, as a router's start makes it.
        await seed_default_channel(engine, make_settings(whatsapp_phone_number_id="123"))
        yield engine


def count_commits(engine: AsyncEngine) -> list[int]:
    commits: list[int] = []

    @event.listens_for(engine.sync_engine, "commit")
    def _counted(_: Any) -> None:
        commits.append(1)

    return commits


def inbound(n: int, contact: str | None = None) -> InboundMessage:
    return parsed_text(
        f"wamid.gc.{n}", f"text {n}", wa_id=contact or f"1555{n:07d}", phone_number_id="123"
    )


async def test_concurrent_webhooks_share_transactions_and_each_gets_its_ids(
    engine: AsyncEngine,
) -> None:
    repository = MessageRepository(engine, session_factory(engine))
    commits = count_commits(engine)

    # 200 webhooks at once; every tenth is a redelivery of the one before it.
    bodies = [[inbound(n - 1 if n % 10 == 9 else n)] for n in range(200)]
    results = await asyncio.gather(*(repository.inbound.store_webhook(b, [], "r") for b in bodies))
    await repository.aclose()

    new = [ids for ids in results if ids]
    assert len(new) == 180  # each wamid stored once, for one of the webhooks that carried it
    assert len({i for ids in new for i in ids}) == 180
    assert len(commits) < 20, f"{len(commits)} transactions for 200 webhooks"
    async with engine.connect() as connection:
        stored = await connection.scalar(select(text("count(*)")).select_from(Message.__table__))
    assert stored == 180


async def test_ids_follow_the_order_of_arrival_within_a_round(engine: AsyncEngine) -> None:
    repository = MessageRepository(engine, session_factory(engine))
    same_contact = [inbound(n, contact="15550000001") for n in range(5)]
    ids = await repository.inbound.store_webhook(same_contact, [], "r")
    await repository.aclose()
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Message.__table__.c.id, Message.__table__.c.wamid).order_by("id")
        )
        assert [wamid for _, wamid in rows.all()] == [m.wamid for m in same_contact]
    assert ids == sorted(ids)


async def test_a_body_carrying_one_wamid_twice_stores_it_once(engine: AsyncEngine) -> None:
    repository = MessageRepository(engine, session_factory(engine))
    ids = await repository.inbound.store_webhook([inbound(1), inbound(2), inbound(1)], [], "r")
    await repository.aclose()
    assert len(ids) == 2
    async with engine.connect() as connection:
        stored = await connection.scalar(select(text("count(*)")).select_from(Message.__table__))
    assert stored == 2


async def test_a_status_for_a_message_stored_in_the_same_round_is_applied(
    engine: AsyncEngine,
) -> None:
    repository = MessageRepository(engine, session_factory(engine))
    [inbound_id] = await repository.inbound.store_webhook([inbound(1)], [], "r")
    claim = await repository.leases.claim(inbound_id, 30)
    assert claim is not None
    [part] = await repository.replies.add_replies(claim.message, ["hi"], "1.0.t")
    read = StatusUpdate(
        wamid="wamid.out.1",
        status="read",
        phone_number_id="123",
        recipient=None,
        timestamp="1",
        error_code=None,
        error_title=None,
    )
    # The status arrives while the Graph API's answer is still being stored.
    await asyncio.gather(
        repository.inbound.store_webhook([], [read], "r"),
        repository.replies.accept(part.id, "wamid.out.1"),
    )
    await repository.aclose()
    async with engine.connect() as connection:
        status = await connection.scalar(
            select(Message.__table__.c.status).where(Message.__table__.c.id == part.id)
        )
    assert status == "read"


async def test_one_refused_write_does_not_fail_the_others(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS gc_items"))
        await connection.execute(text("CREATE TABLE gc_items (name VARCHAR(20) PRIMARY KEY)"))

    async def insert(connection: AsyncConnection, names: list[str]) -> list[str]:
        for name in names:
            await connection.execute(text("INSERT INTO gc_items (name) VALUES (:n)"), {"n": name})
        return names

    writer = GroupCommit(engine, [insert])
    outcomes = await asyncio.gather(
        *(writer.write(insert, name) for name in ["a", "b", "a", "c"]), return_exceptions=True
    )
    await writer.aclose()

    assert outcomes[:2] == ["a", "b"]
    assert outcomes[3] == "c"
    assert isinstance(outcomes[2], IntegrityError)
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT name FROM gc_items ORDER BY name"))
        assert [name for (name,) in rows.all()] == ["a", "b", "c"]


async def test_a_write_whose_handler_raises_fails_alone(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS gc_items"))
        await connection.execute(text("CREATE TABLE gc_items (name VARCHAR(20) PRIMARY KEY)"))

    async def insert(connection: AsyncConnection, names: list[str]) -> list[str]:
        for name in names:
            if name == "poison":
                raise ValueError("not a name this handler can write")
            await connection.execute(text("INSERT INTO gc_items (name) VALUES (:n)"), {"n": name})
        return names

    writer = GroupCommit(engine, [insert])
    commits = count_commits(engine)
    names = [f"n{i}" for i in range(30)]
    names[17] = "poison"
    outcomes = await asyncio.gather(
        *(writer.write(insert, name) for name in names), return_exceptions=True
    )
    await writer.aclose()

    assert isinstance(outcomes[17], ValueError)
    assert [o for i, o in enumerate(outcomes) if i != 17] == [n for n in names if n != "poison"]
    # The round is halved around the bad write rather than run again one by one.
    assert len(commits) < 15, f"{len(commits)} transactions for 30 writes"
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT count(*) FROM gc_items"))
        assert rows.scalar() == 29


async def test_a_webhook_that_cannot_be_stored_fails_no_job_of_its_round(
    engine: AsyncEngine,
) -> None:
    """A value the payload reader should have stopped reaches the store (here, a lone surrogate:
    the driver cannot encode it). Only that webhook fails; the jobs' writes of its round commit."""
    repository = MessageRepository(engine, session_factory(engine))
    ids = await repository.inbound.store_webhook([inbound(1), inbound(2), inbound(3)], [], "r")
    claims = [await repository.leases.claim(id_, 30) for id_ in ids]
    assert all(claims)
    first, second, third = (claim.message for claim in claims if claim is not None)
    [part] = await repository.replies.add_replies(second, ["reply to 2"], "2.0.t")
    poisoned = dataclasses.replace(inbound(4), text="x\ud800")

    outcomes = await asyncio.gather(
        repository.inbound.store_webhook([poisoned], [], "r"),
        repository.inbound.store_webhook([inbound(5)], [], "r"),
        repository.replies.add_replies(first, ["reply to 1"], "1.0.t"),
        repository.replies.accept(part.id, "wamid.out.2", Ending(second, InboundStatus.REPLIED)),
        repository.replies.finish(Ending(third, InboundStatus.IGNORED)),
        return_exceptions=True,
    )
    await repository.aclose()

    assert isinstance(outcomes[0], Exception)
    neighbour, replies, _, _ = outcomes[1:]
    assert isinstance(neighbour, list)
    assert len(neighbour) == 1
    assert isinstance(replies, list)
    assert [r.text for r in replies] == ["reply to 1"]
    c = Message.__table__.c
    async with engine.connect() as connection:
        rows = await connection.execute(select(c.wamid, c.status, c.text).order_by(c.id))
        stored = {(wamid or text_): status for wamid, status, text_ in rows.all()}
    assert stored == {
        "wamid.gc.1": InboundStatus.PROCESSING.value,
        "wamid.gc.2": InboundStatus.REPLIED.value,
        "wamid.gc.3": InboundStatus.IGNORED.value,
        "wamid.gc.5": InboundStatus.RECEIVED.value,
        "wamid.out.2": OutboundStatus.ACCEPTED.value,
        "reply to 1": OutboundStatus.PENDING.value,
    }


async def test_a_writer_for_an_unreachable_database_fails_its_callers(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x' / 'router.db'}")
    shutil.rmtree(tmp_path / "missing")  # the directory the engine made is gone

    async def noop(connection: AsyncConnection, items: list[int]) -> list[int]:
        await connection.execute(text("SELECT 1"))
        return items

    threads = set(threading.enumerate())
    writer = GroupCommit(engine, [noop])
    with pytest.raises(Exception, match="unable to open database"):
        await writer.write(noop, 1)
    # The writer is still alive for the next caller.
    with pytest.raises(Exception, match="unable to open database"):
        await writer.write(noop, 2)
    await writer.aclose()
    await engine.dispose()
    # aiosqlite's thread for a connection that failed to open ends on its own, and answers this
    # loop as it does: let it, before the test's loop closes.
    for thread in set(threading.enumerate()) - threads:
        await asyncio.to_thread(thread.join, 5)


def test_a_worker_row_has_exactly_the_table_columns() -> None:
    assert [f.name for f in dataclasses.fields(MessageRow)] == [
        c.key for c in Message.__table__.columns
    ]


async def test_a_connection_the_database_dropped_costs_no_write() -> None:
    url = await fresh_postgres()
    engine = create_engine(url)
    await migrate(engine)
    await seed_default_channel(engine, make_settings(whatsapp_phone_number_id="123"))
    repository = MessageRepository(engine, session_factory(engine))
    try:
        assert await repository.inbound.store_webhook(
            [inbound(1)], [], "r"
        )  # a pooled connection now
        # The server drops every connection to the database (a restart, a failover, an idle cut).
        admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                POSTGRES_DATABASE,
            )
        finally:
            await admin.close()

        assert await repository.inbound.store_webhook([inbound(2)], [], "r")
    finally:
        await repository.aclose()
        await engine.dispose()


async def test_a_round_of_more_messages_than_one_statement_may_bind_is_stored(
    engine: AsyncEngine,
) -> None:
    # 17,000 people, each named by a wa_id and a BSUID: looking them all up at once would bind
    # 34,000 values, past what SQLite (32,766) and asyncpg (32,767) take in one statement.
    many = [
        dataclasses.replace(inbound(n), user_id=f"US.7{n:018d}", name=f"user {n}")
        for n in range(17_000)
    ]
    repository = MessageRepository(engine, session_factory(engine))

    ids = await repository.inbound.store_webhook(many, [], "r")
    again = await repository.inbound.store_webhook(many[:10], [], "r")
    await repository.aclose()

    assert (len(ids), again) == (17_000, [])
    async with engine.connect() as connection:
        contacts = await connection.scalar(text("SELECT count(*) FROM contacts"))
        conversations = await connection.scalar(text("SELECT count(*) FROM conversations"))
    assert contacts == conversations == 17_000
