"""The store and queue backends tests run against: SQLite and in-process always; PostgreSQL and
Redis where the machine has them (CI sets REQUIRE_SERVICES=1, making their absence a failure)."""

import os
import socket
from urllib.parse import urlsplit

import asyncpg
import pytest
from redis.asyncio import Redis

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"

# Each test gets a clean database of its own name and a Redis database of its own number. Two
# checkouts testing at once on one machine name others (TEST_POSTGRES_DATABASE, TEST_REDIS_DB).
POSTGRES_DATABASE = os.environ.get("TEST_POSTGRES_DATABASE", "router_tests")
REDIS_TEST_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


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


async def fresh_postgres() -> str:
    """An empty `router_tests` database on the test server; returns its SQLAlchemy URL."""
    if not _reachable(POSTGRES_URL, 5432):
        _unavailable("PostgreSQL")
    plain = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", POSTGRES_DATABASE
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    finally:
        await connection.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    target = await asyncpg.connect(f"{plain.rsplit('/', 1)[0]}/{POSTGRES_DATABASE}")
    try:
        # Every table, whichever migrations made them.
        await target.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await target.close()
    return f"{base}/{POSTGRES_DATABASE}"


async def fresh_redis() -> str:
    if not _reachable(REDIS_URL, 6379):
        _unavailable("Redis")
    url = f"{REDIS_URL.rsplit('/', 1)[0]}/{REDIS_TEST_DB}"
    async with Redis.from_url(url) as redis:
        await redis.flushdb()
    return url
