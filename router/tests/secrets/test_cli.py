"""`python -m app.secrets`: a new key, a count of what the ring reads, and a rotation that refuses
what it cannot do safely (a bad setting, a schema from before the encryption) and leaves what it
cannot read as it is."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Connection, text

from app.channels.models import Channel, ChannelType
from app.core.engine import alembic_config, create_engine, migrate, session_factory
from app.secrets.__main__ import main
from app.secrets.keyring import KeyRing, install, installed
from app.settings import ToolSettings
from app.tenants.models import Tenant

from .conftest import new_key

TOKEN = "EAAG-cli-token-4b7e"


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """main() sends log lines to the stderr of its moment, here the test's capture, closed after
    it: the tests that follow in this process log as they did before."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The tools' DATABASE_URL, a SQLite file here; their settings from the environment alone."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    monkeypatch.setitem(ToolSettings.model_config, "env_file", None)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ROUTER_ENCRYPTION_KEYS", raising=False)
    return database_url


async def store_token(url: str, key: str, revision: str = "head") -> None:
    """A store at `revision` holding one channel whose token `key` encrypted."""
    engine = create_engine(url)
    before = installed()
    install(KeyRing.from_text(key))
    try:
        if revision == "head":
            await migrate(engine)
            async with session_factory(engine)() as session:
                tenant = Tenant(name="Acme")
                session.add(tenant)
                await session.flush()
                session.add(
                    Channel(
                        tenant_id=tenant.id,
                        type=ChannelType.WHATSAPP.value,
                        name="Sales",
                        phone_number_id="555",
                        access_token=TOKEN,
                    )
                )
                await session.commit()
        else:

            def upgrade(connection: Connection) -> None:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)

            async with engine.begin() as connection:
                await connection.run_sync(upgrade)
    finally:
        if before is not None:
            install(before)
        await engine.dispose()


async def stored(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.scalars(text("SELECT access_token FROM channels"))).all())
    finally:
        await engine.dispose()


def test_a_new_key_is_a_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate-key"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["generate-key"]) == 0
    second = capsys.readouterr().out.strip()

    Fernet(first)  # a key Fernet takes
    assert first != second


def test_check_counts_and_rotate_rewrites_only_what_is_not_under_the_first_key(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = new_key(), new_key()
    asyncio.run(store_token(url, old))

    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", new)
    assert main(["check"]) == 1  # the new key alone reads nothing
    unread = capsys.readouterr()
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", f"{new},{old}")
    assert main(["check"]) == 0
    read = capsys.readouterr()
    assert main(["rotate"]) == 0
    rotated = capsys.readouterr()
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", new)
    assert main(["check"]) == 0

    assert "channels.access_token: 1 encrypted (1 unreadable), 0 in clear" in unread.out
    assert "ROUTER_ENCRYPTION_KEYS" in unread.err
    assert "channels.access_token: 1 encrypted (0 unreadable), 0 in clear" in read.out
    assert "rotated: 1 rows changed (a key ring of 2)" in rotated.out
    [token] = asyncio.run(stored(url))
    assert KeyRing.from_text(new).decrypt(token) == TOKEN
    for secret in (old, new, TOKEN):
        assert secret not in unread.out + unread.err + read.out + rotated.out + rotated.err


def test_a_rotation_without_the_key_leaves_the_row_and_says_so(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(store_token(url, new_key()))
    before = asyncio.run(stored(url))
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", new_key())

    assert main(["rotate"]) == 1

    printed = capsys.readouterr()
    assert (
        "channels.access_token: 1 rows read, 0 re-encrypted with the first key, 1 unreadable"
        in (printed.out)
    )
    assert "encrypted with no key of ROUTER_ENCRYPTION_KEYS" in printed.err
    assert asyncio.run(stored(url)) == before


def test_a_bad_setting_is_named_and_nothing_runs(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", "not-a-key-at-all")

    assert main(["rotate"]) == 2

    said = capsys.readouterr().err
    assert "ROUTER_ENCRYPTION_KEYS" in said
    assert "1st key is not a Fernet key" in said
    assert "not-a-key-at-all" not in said


def test_a_schema_from_before_the_encryption_is_not_rotated(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(store_token(url, new_key(), revision="0020"))
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", new_key())

    assert main(["rotate"]) == 2

    assert "`make migrate` first" in capsys.readouterr().err
