"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL, and carry
a store of an earlier revision forward without losing a row."""

import json
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import Base
from app.core.engine import alembic_config, create_engine, migrate
from app.secrets.keyring import KeyRing, SecretUnreadable, active, install

from ..backends import fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, database_url: str) -> Any:
    url = await fresh_postgres() if request.param == "postgresql" else database_url
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def to_revision(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and revision != "head" and current > revision:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_the_migrations_build_the_models_tables(engine: AsyncEngine) -> None:
    await migrate(engine)

    def ours(name: str | None, kind: str, _: Any) -> bool:
        # Other tests leave tables of their own in the shared test database.
        return kind != "table" or name in Base.metadata.tables

    def compare(connection: Connection) -> Any:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(compare)

    assert differences == []


async def test_a_store_of_the_first_revision_is_carried_forward_and_back(
    engine: AsyncEngine,
) -> None:
    await to_revision(engine, "0001")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO messages (direction, wamid, phone_number_id, contact, type, text,"
                " status, attempts, created_at, updated_at) VALUES ('outbound', 'wamid.old',"
                " '1', '2', 'text', 'kept', 'accepted', 0, '2026-11-21', '2026-11-21')"
            )
        )

    await to_revision(engine, "head")
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT text, tracker FROM messages"))).one()
    assert tuple(row) == ("kept", None)

    await to_revision(engine, "0001")
    async with engine.connect() as connection:
        kept = await connection.scalar(text("SELECT text FROM messages"))
    assert kept == "kept"


async def test_the_read_marks_table_comes_and_goes_with_its_migration(engine: AsyncEngine) -> None:
    async def tables() -> set[str]:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))

    # The revision 0018 follows (its chain may grow: read it, do not assume it).
    url = engine.url.render_as_string(hide_password=False)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0018").down_revision
    assert isinstance(before, str)
    await to_revision(engine, "head")
    assert "conversation_reads" in await tables()
    await to_revision(engine, before)
    assert "conversation_reads" not in await tables()
    await to_revision(engine, "head")
    assert "conversation_reads" in await tables()


async def test_a_store_before_traceparents_is_carried_forward_and_back(
    engine: AsyncEngine,
) -> None:
    await to_revision(engine, "0011")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO messages (direction, wamid, phone_number_id, contact, type, text,"
                " status, attempts, created_at, updated_at) VALUES ('inbound', 'wamid.untraced',"
                " '1', '2', 'text', 'kept', 'replied', 1, '2026-12-15', '2026-12-15')"
            )
        )

    await to_revision(engine, "0013")
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT text, traceparent FROM messages"))).one()
    assert tuple(row) == ("kept", None)

    await to_revision(engine, "0011")
    async with engine.connect() as connection:
        kept = await connection.scalar(text("SELECT text FROM messages"))
        columns = await connection.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("messages")]
        )
    assert kept == "kept"
    assert "traceparent" not in columns


async def test_each_existing_channel_gets_the_servers_agent_and_back(engine: AsyncEngine) -> None:
    await to_revision(engine, "0011")
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO tenants (name, created_at) VALUES ('default', '2026-12-01')")
        )
        for number in ("111", "222"):
            await connection.execute(
                text(
                    "INSERT INTO channels (tenant_id, type, name, phone_number_id, created_at,"
                    " updated_at) VALUES (1, 'whatsapp', :n, :n, '2026-12-01', '2026-12-01')"
                ),
                {"n": number},
            )

    await to_revision(engine, "0014")
    async with engine.connect() as connection:
        agents = (
            await connection.execute(
                text(
                    "SELECT a.agent_type, a.priority, a.name, c.channel_id FROM agents a"
                    " JOIN agent_channels c ON c.agent_id = a.id ORDER BY c.channel_id"
                )
            )
        ).all()
    assert [tuple(a) for a in agents] == [("http", 100, "Server", 1), ("http", 100, "Server", 2)]

    await to_revision(engine, "0011")
    async with engine.connect() as connection:
        channels = await connection.scalar(text("SELECT count(*) FROM channels"))
    assert channels == 2


async def test_an_agent_on_every_channel_keeps_them_named_when_migrated_back(
    engine: AsyncEngine,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0020").down_revision
    assert isinstance(before, str)
    await to_revision(engine, "head")
    async with engine.begin() as connection:
        for tenant in ("ours", "theirs"):
            await connection.execute(
                text("INSERT INTO tenants (name, created_at) VALUES (:t, '2026-12-23')"),
                {"t": tenant},
            )
        for tenant_id, number in ((1, "111"), (1, "222"), (2, "333")):
            await connection.execute(
                text(
                    "INSERT INTO channels (tenant_id, type, name, phone_number_id, created_at,"
                    " updated_at) VALUES (:t, 'whatsapp', :n, :n, '2026-12-23', '2026-12-23')"
                ),
                {"t": tenant_id, "n": number},
            )
        await connection.execute(
            text(
                "INSERT INTO agents (tenant_id, name, agent_type, config, priority, all_channels,"
                " created_at, updated_at) VALUES (1, 'FAQ Bot', 'rule_based', '{}', 50, :all,"
                " '2026-12-23', '2026-12-23')"
            ),
            {"all": True},
        )

    await to_revision(engine, before)
    async with engine.connect() as connection:
        named = (
            await connection.execute(text("SELECT agent_id, channel_id FROM agent_channels"))
        ).all()
    assert sorted(map(tuple, named)) == [(1, 1), (1, 2)]  # its tenant's channels, as they were

    await to_revision(engine, "head")
    async with engine.connect() as connection:
        everywhere = await connection.scalar(text("SELECT all_channels FROM agents"))
    assert not everywhere


async def test_members_numbers_and_keys_limits_come_and_go_with_their_migration(
    engine: AsyncEngine,
) -> None:
    async def schema() -> tuple[set[str], set[str]]:
        def read(sync: Connection) -> tuple[set[str], set[str]]:
            found = inspect(sync)
            keys = {c["name"] for c in found.get_columns("api_keys")}
            return set(found.get_table_names()), keys

        async with engine.connect() as connection:
            return await connection.run_sync(read)

    url = engine.url.render_as_string(hide_password=False)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0019").down_revision
    assert isinstance(before, str)
    await to_revision(engine, before)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO tenants (name, created_at) VALUES ('Acme', '2026-12-22')")
        )
        await connection.execute(
            text(
                "INSERT INTO api_keys (tenant_id, name, role, public_id, secret_hash, created_at)"
                " VALUES (1, 'k', 'agent', 'abc', 'hash', '2026-12-22')"
            )
        )

    await to_revision(engine, "head")
    tables, columns = await schema()
    async with engine.connect() as connection:
        kept = (await connection.execute(text("SELECT name, channel_ids FROM api_keys"))).one()
    assert "member_channels" in tables
    assert "channel_ids" in columns
    assert tuple(kept) == ("k", None)  # an existing key sees every number, as it did

    await to_revision(engine, before)
    tables, columns = await schema()
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT name FROM api_keys")) == "k"
    assert "member_channels" not in tables
    assert "channel_ids" not in columns


async def test_secrets_stored_in_clear_are_encrypted_and_back(engine: AsyncEngine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0021").down_revision
    assert isinstance(before, str)
    await to_revision(engine, before)
    llm = {"model": "small", "api_key": "sk-in-clear-1f2e"}
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO tenants (name, created_at) VALUES ('Acme', '2026-12-24')")
        )
        for number, token in (("111", "EAAG-in-clear-9a8b"), ("222", None)):
            await connection.execute(
                text(
                    "INSERT INTO channels (tenant_id, type, name, phone_number_id, access_token,"
                    " created_at, updated_at) VALUES (1, 'whatsapp', :n, :n, :t, '2026-12-24',"
                    " '2026-12-24')"
                ),
                {"n": number, "t": token},
            )
        for kind, config in (("llm", llm), ("http", {"url": "http://bot.test/process"})):
            await connection.execute(
                text(
                    "INSERT INTO agents (tenant_id, name, agent_type, config, priority,"
                    " all_channels, created_at, updated_at) VALUES (1, :k, :k, :c, 50, :all,"
                    " '2026-12-24', '2026-12-24')"
                ),
                {"k": kind, "c": json.dumps(config), "all": True},
            )

    async def stored() -> tuple[list[Any], list[Any]]:
        async with engine.connect() as connection:
            tokens = await connection.scalars(text("SELECT access_token FROM channels ORDER BY id"))
            configs = await connection.scalars(text("SELECT config FROM agents ORDER BY id"))
            return list(tokens.all()), [json.loads(c) if isinstance(c, str) else c for c in configs]

    await to_revision(engine, "head")
    tokens, configs = await stored()
    await to_revision(engine, "head")  # nothing left to do: each one is encrypted once
    assert await stored() == (tokens, configs)
    await to_revision(engine, before)
    back = await stored()

    ring = active()
    assert tokens[0].startswith("fernet:")
    assert ring.decrypt(tokens[0]) == "EAAG-in-clear-9a8b"
    assert tokens[1] is None
    assert configs[0]["api_key"].startswith("fernet:")
    assert ring.decrypt(configs[0]["api_key"]) == "sk-in-clear-1f2e"
    assert configs[0]["model"] == "small"
    assert configs[1] == {"url": "http://bot.test/process"}
    assert back == (["EAAG-in-clear-9a8b", None], [llm, {"url": "http://bot.test/process"}])


async def test_secrets_no_key_reads_stop_the_downgrade_which_changes_nothing(
    engine: AsyncEngine,
) -> None:
    await to_revision(engine, "head")
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO tenants (name, created_at) VALUES ('Acme', '2026-12-24')")
        )
        await connection.execute(
            text(
                "INSERT INTO channels (tenant_id, type, name, phone_number_id, access_token,"
                " created_at, updated_at) VALUES (1, 'whatsapp', '111', '111', :t, '2026-12-24',"
                " '2026-12-24')"
            ),
            {"t": active().encrypt("EAAG-sealed-77c1")},
        )
    url = engine.url.render_as_string(hide_password=False)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0021").down_revision
    assert isinstance(before, str)
    ours = active()

    install(KeyRing.from_text(Fernet.generate_key().decode()))
    try:
        with pytest.raises(SecretUnreadable, match="ROUTER_ENCRYPTION_KEYS"):
            await to_revision(engine, before)
    finally:
        install(ours)

    async with engine.connect() as connection:
        token = await connection.scalar(text("SELECT access_token FROM channels"))
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert ours.decrypt(token) == "EAAG-sealed-77c1"
    assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
