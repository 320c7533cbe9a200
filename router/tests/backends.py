"""The store and queue backends tests run against: SQLite and in-process always; PostgreSQL,
Redis and RabbitMQ where the machine has them (CI sets REQUIRE_SERVICES=1, making their absence a
failure)."""

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import pytest
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.engine import alembic_config, create_engine, migrate

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"

# Each test gets a clean database of its own name, a Redis database of its own number and a
# RabbitMQ queue of its own name. Two checkouts testing at once on one machine name others
# (TEST_POSTGRES_DATABASE, TEST_REDIS_DB; the queue follows the database unless TEST_RABBITMQ_QUEUE
# names it).
# Under pytest-xdist each worker (gw0, gw1, ...) takes names of its own too: the database and the
# queue get the worker's name, the Redis database counts down from TEST_REDIS_DB.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(WORKER.removeprefix("gw")) if WORKER.startswith("gw") else 0
_SUFFIX = f"_{WORKER}" if WORKER else ""
_DATABASE = os.environ.get("TEST_POSTGRES_DATABASE", "router_tests")
POSTGRES_DATABASE = _DATABASE + _SUFFIX
REDIS_TEST_DB = (int(os.environ.get("TEST_REDIS_DB", "15")) - _WORKER_INDEX) % 16
RABBITMQ_QUEUE = os.environ.get("TEST_RABBITMQ_QUEUE", _DATABASE) + _SUFFIX


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _unavailable(what: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but does not answer")
    pytest.skip(f"{what} does not answer here")


async def fresh_postgres(database: str = POSTGRES_DATABASE) -> str:
    """An empty database (`router_tests` unless named) on the test server; its SQLAlchemy URL."""
    if not _reachable(POSTGRES_URL, 5432):
        _unavailable("PostgreSQL")
    async with _connected(_SERVER_DATABASE) as connection:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    async with _connected(database) as target:
        # Every table, whichever migrations made them.
        await target.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return _url_of(database)


async def migrated_postgres() -> str:
    """The test database at the newest schema and empty, as a router's first start leaves it; its
    SQLAlchemy URL. Migrated once per worker (about a second on PostgreSQL); after that only
    emptied: every row of every table but Alembic's deleted, its ids starting again at 1. A
    database another
    test left at some other revision, or without Alembic's table, is made again from nothing."""
    if not _reachable(POSTGRES_URL, 5432):
        _unavailable("PostgreSQL")
    url = _url_of(POSTGRES_DATABASE)
    if await _empty_at_head(POSTGRES_DATABASE):
        return url
    await fresh_postgres()
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return url


async def _empty_at_head(database: str) -> bool:
    """Empties `database` if its schema is the newest revision's; says whether it was."""
    try:
        async with _connected(database) as target:
            if await target.fetchval("SELECT to_regclass('public.alembic_version')") is None:
                return False
            if await target.fetchval("SELECT version_num FROM alembic_version") != _head():
                return False
            sequences = await target.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
            statements = [
                *_REWRITING,
                *(f'DELETE FROM public."{table}"' for table in await _tables(target)),  # noqa: S608 - the catalogue's names
                *(f'ALTER SEQUENCE public."{row["sequencename"]}" RESTART' for row in sequences),
            ]
            async with target.transaction():
                await target.execute("; ".join(statements))
            return True
    except asyncpg.InvalidCatalogNameError:  # no such database yet
        return False


# Before rows are deleted or put back in bulk: DELETE rather than TRUNCATE (on tables this small
# it is several times faster: no new files), with the foreign keys' triggers off meanwhile (the
# replica role), so the tables' order is free; a lock held by a test that left a connection open
# fails the statement rather than hanging it.
_REWRITING = ("SET lock_timeout = '10s'", "SET session_replication_role = replica")


@functools.cache
def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


async def snapshot_postgres(database: str) -> None:
    """Keeps a copy of every row of `database` (its tables and its sequences' positions) in a
    schema of its own, for `restore_postgres`."""
    async with _connected(database) as target, target.transaction():
        await target.execute("DROP SCHEMA IF EXISTS snapshot CASCADE; CREATE SCHEMA snapshot")
        for table in await _tables(target):
            await target.execute(f'CREATE TABLE snapshot."{table}" AS TABLE public."{table}"')
        await target.execute(
            "CREATE TABLE snapshot.sequences AS SELECT sequencename AS name, last_value"
            " FROM pg_sequences WHERE schemaname = 'public'"
        )


async def restore_postgres(database: str) -> str:
    """`database` as `snapshot_postgres` found it (which nothing may be using): the rows made
    since deleted, those deleted or changed put back, each sequence where it was. Tens of
    milliseconds where a copy of the database takes about a second. Its SQLAlchemy URL."""
    async with _connected(database) as target:
        statements = list(_REWRITING)
        for table in await _tables(target):
            statements += [
                f'DELETE FROM public."{table}"',  # noqa: S608 - the catalogue's names
                f'INSERT INTO public."{table}" OVERRIDING SYSTEM VALUE TABLE snapshot."{table}"',
            ]
        for name, last_value in await target.fetch("SELECT * FROM snapshot.sequences"):
            statements.append(
                f"SELECT setval('public.\"{name}\"', {last_value})"
                if last_value is not None
                else f'ALTER SEQUENCE public."{name}" RESTART'
            )
        async with target.transaction():
            await target.execute("; ".join(statements))
    return _url_of(database)


async def _tables(connection: asyncpg.Connection) -> list[str]:
    """The tables of the public schema but Alembic's."""
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'alembic_version' ORDER BY tablename"
    )
    return [row["tablename"] for row in rows]


@asynccontextmanager
async def _connected(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(f"{_PLAIN.rsplit('/', 1)[0]}/{database}")
    try:
        yield connection
    finally:
        await connection.close()


async def fresh_store(store: str, tmp_path: Path) -> str:
    """An empty store's URL: "sqlite" (a file in `tmp_path`) or "postgresql" (`fresh_postgres`)."""
    if store == "postgresql":
        return await fresh_postgres()
    return f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"


@asynccontextmanager
async def migrated_store(store: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty store (`fresh_store`) with every migration run, disposed of after."""
    engine = create_engine(await fresh_store(store, tmp_path))
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


_PLAIN = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
_SERVER_DATABASE = _PLAIN.rsplit("/", 1)[1]  # where databases are made and dropped


def _url_of(database: str) -> str:
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}"


async def fresh_redis() -> str:
    if not _reachable(REDIS_URL, 6379):
        _unavailable("Redis")
    url = f"{REDIS_URL.rsplit('/', 1)[0]}/{REDIS_TEST_DB}"
    async with Redis.from_url(url) as redis:
        await redis.flushdb()
    return url


async def fresh_rabbitmq() -> dict[str, str]:
    """QUEUE_URL and ROUTER_QUEUE_NAME of an empty queue on the test RabbitMQ.

    The queue, its dead letters and its exchange are deleted; the router declares them again.
    """
    if not _reachable(RABBITMQ_URL, 5672):
        _unavailable("RabbitMQ")
    async with await aio_pika.connect(RABBITMQ_URL) as connection:
        channel = await connection.channel()
        for queue in (RABBITMQ_QUEUE, f"{RABBITMQ_QUEUE}.dead_letter"):
            # Quorum queues refuse a delete with if-unused set.
            await channel.queue_delete(queue, if_unused=False, if_empty=False)
        await channel.exchange_delete(RABBITMQ_QUEUE, if_unused=False)
    return {"queue_url": RABBITMQ_URL, "router_queue_name": RABBITMQ_QUEUE}


async def rabbitmq_ready_messages(queue_settings: dict[str, str]) -> int:
    """How many messages wait in the test queue for a consumer (unacknowledged ones not counted)."""
    async with await aio_pika.connect(queue_settings["queue_url"]) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_settings["router_queue_name"], passive=True)
        count = queue.declaration_result.message_count
        assert count is not None
        return count


class TcpProxy:
    """A local port forwarding to a server, to make that server vanish or go silent."""

    def __init__(self, url: str, default_port: int) -> None:
        self._target_url = url
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or default_port)
        self._streams: list[asyncio.StreamWriter] = []
        self._silent = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The server's URL, through the proxy."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._target_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
        return parts._replace(netloc=netloc).geturl()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", 0)

    def silence(self) -> None:
        """Connections stay open and nothing more goes through, like a server that hangs."""
        self._silent.set()

    async def cut(self) -> None:
        """Every connection closed and no new one taken, like a server that is gone."""
        if self._server is not None:
            self._server.close()
        for stream in self._streams:
            stream.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._streams.extend([writer, upstream_writer])
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if not self._silent.is_set():
                    writer.write(data)
                    await writer.drain()
        writer.close()


@asynccontextmanager
async def tcp_proxy(url: str, default_port: int) -> AsyncIterator[TcpProxy]:
    """A TcpProxy in front of the server at `url`."""
    proxy = TcpProxy(url, default_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()
