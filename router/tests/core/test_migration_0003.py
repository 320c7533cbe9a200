"""Migration 0003 upgrades a database that holds messages in place, on SQLite and PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, column, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.engine import alembic_config, create_engine, migrating
from app.models import Base
from app.secrets.keyring import active

from ..backends import fresh_postgres
from ..conftest import ADMIN_KEY, make_settings, running_router

PLATFORM = "0003"
SALES, SUPPORT = "1122334455667", "999888777"  # the env's number, and another one
T0 = datetime(2026, 11, 1, 12, 0)


def before_platform(url: str) -> str:
    """The revision 0003 follows (its chain may grow: read it, do not assume it)."""
    down = ScriptDirectory.from_config(alembic_config(url)).get_revision(PLATFORM).down_revision
    assert isinstance(down, str)
    return down


async def run_alembic(engine: AsyncEngine, verb: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)

    async with migrating(engine) as connection:
        await connection.run_sync(run)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = (
        await fresh_postgres()
        if request.param == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    )
    engine = create_engine(url)
    yield engine
    await engine.dispose()


def message(
    id_: int,
    minutes: int,
    *,
    phone: str = SALES,
    wa_id: str | None = None,
    user_id: str | None = None,
    name: str | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    inbound = reply_to is None
    at = T0 + timedelta(minutes=minutes)
    return {
        "id": id_,
        "direction": "inbound" if inbound else "outbound",
        "wamid": f"wamid.{id_}",
        "phone_number_id": phone,
        "contact": wa_id or user_id,
        "wa_id": wa_id,
        "user_id": user_id,
        "contact_name": name,
        "type": "text",
        "text": f"message {id_}",
        "status": "replied" if inbound else "read",
        "attempts": 1,
        "reply_to_id": reply_to,
        "part": None if inbound else 0,
        "created_at": at,
        "updated_at": at,
    }


# What a router before the platform stored: people known by phone, by user id, by both, one who
# changed number, over two numbers.
HISTORY = [
    message(
        1, 0, wa_id="111", name="First Customer (new profile name)"
    ),  # the classic shape: no user id yet
    message(2, 1, wa_id="111", reply_to=1),
    message(3, 5, wa_id="111", user_id="US.1", name="First Customer"),
    message(4, 6, wa_id="111", user_id="US.1", reply_to=3),
    message(5, 7, user_id="US.2", name="Second Customer"),  # a user id only
    message(6, 8, user_id="US.2", reply_to=5),
    message(7, 9, phone=SUPPORT, wa_id="111", user_id="US.1", name="First Customer"),
    message(8, 10, phone=SUPPORT, wa_id="333"),
    message(9, 11, wa_id="444", user_id="US.4", name="Third Customer"),
    message(
        10, 12, wa_id="555", user_id="US.4", name="Third Customer (new number)"
    ),  # changed number
]


async def store_history(engine: AsyncEngine) -> str:
    """The schema just before the platform, holding HISTORY; returns that revision."""
    before = before_platform(str(engine.url))
    await run_alembic(engine, "upgrade", before)
    # Typed times: the driver gets what SQLAlchemy makes of a datetime (sqlite3's own adapter is
    # deprecated since Python 3.12).
    messages = table(
        "messages",
        *(
            column(name, DateTime()) if name.endswith("_at") else column(name)
            for name in HISTORY[0]
        ),
    )
    async with engine.begin() as connection:
        await connection.execute(messages.insert(), HISTORY)
    return before


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        return [dict(r) for r in result.mappings().all()]


async def test_stored_messages_land_in_a_default_tenant_channels_contacts_and_conversations(
    engine: AsyncEngine,
) -> None:
    await store_history(engine)

    await run_alembic(engine, "upgrade", PLATFORM)

    [tenant] = await rows(engine, "SELECT id, name FROM tenants")
    channels = await rows(
        engine, "SELECT id, tenant_id, name, phone_number_id, access_token FROM channels"
    )
    contacts = await rows(
        engine, "SELECT id, tenant_id, wa_id, user_id, name, name_edited, is_blocked FROM contacts"
    )
    conversations = await rows(
        engine,
        "SELECT id, channel_id, contact_id, status, owner_member_id, last_message_at,"
        " last_inbound_at FROM conversations",
    )
    placed = await rows(
        engine,
        "SELECT id, tenant_id, channel_id, contact_id, conversation_id, sender FROM messages"
        " ORDER BY id",
    )

    assert tenant["name"] == "default"
    channel_of = {c["phone_number_id"]: c["id"] for c in channels}
    assert sorted(channel_of) == sorted([SALES, SUPPORT])
    assert all(c["tenant_id"] == tenant["id"] for c in channels)
    assert all(c["name"] == c["phone_number_id"] for c in channels)
    assert all(c["access_token"] is None for c in channels)  # the env's token sends for them

    people = {(c["wa_id"], c["user_id"]): c for c in contacts}
    assert {k: v["name"] for k, v in people.items()} == {
        ("111", "US.1"): "First Customer",  # the newest profile name
        (None, "US.2"): "Second Customer",
        ("333", None): None,
        ("555", "US.4"): "Third Customer (new number)",  # the newest number
    }
    assert all(
        c["tenant_id"] == tenant["id"] and not c["name_edited"] and not c["is_blocked"]
        for c in contacts
    )

    first_customer, second_customer = people[("111", "US.1")]["id"], people[(None, "US.2")]["id"]
    sam, dee = people[("333", None)]["id"], people[("555", "US.4")]["id"]
    by_pair = {(c["channel_id"], c["contact_id"]): c for c in conversations}
    assert sorted(by_pair) == sorted(
        [
            (channel_of[SALES], first_customer),
            (channel_of[SALES], second_customer),
            (channel_of[SALES], dee),
            (channel_of[SUPPORT], first_customer),
            (channel_of[SUPPORT], sam),
        ]
    )
    assert all(c["status"] == "open" and c["owner_member_id"] is None for c in conversations)
    first_on_sales = by_pair[(channel_of[SALES], first_customer)]
    assert _naive(first_on_sales["last_message_at"]) == T0 + timedelta(minutes=6)  # the reply
    assert _naive(first_on_sales["last_inbound_at"]) == T0 + timedelta(minutes=5)

    expected = {
        1: (SALES, first_customer, "contact"),
        2: (SALES, first_customer, "ai"),
        3: (SALES, first_customer, "contact"),
        4: (SALES, first_customer, "ai"),
        5: (SALES, second_customer, "contact"),
        6: (SALES, second_customer, "ai"),
        7: (SUPPORT, first_customer, "contact"),
        8: (SUPPORT, sam, "contact"),
        9: (SALES, dee, "contact"),
        10: (SALES, dee, "contact"),
    }
    assert {
        m["id"]: (
            {v: k for k, v in channel_of.items()}[m["channel_id"]],
            m["contact_id"],
            m["sender"],
        )
        for m in placed
    } == expected
    assert all(m["tenant_id"] == tenant["id"] for m in placed)
    assert all(
        m["conversation_id"] == by_pair[(m["channel_id"], m["contact_id"])]["id"] for m in placed
    )


async def test_the_router_starts_on_an_upgraded_database_and_serves_it(
    engine: AsyncEngine, mock_http: respx.MockRouter
) -> None:
    await store_history(engine)
    url = engine.url.render_as_string(hide_password=False)

    async with running_router(make_settings(database_url=url)) as router:
        [tenant] = await rows(engine, "SELECT id FROM tenants")
        headers = {"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(tenant["id"])}
        listed = (await router.client.get("/api/v1/conversations", headers=headers)).json()
        newest = listed["items"][0]
        history = (
            await router.client.get(
                f"/api/v1/conversations/{newest['id']}/messages", headers=headers
            )
        ).json()
        # New ids follow the ones the migration gave.
        created = await router.client.post(
            "/api/v1/contacts", headers=headers, json={"wa_id": "777"}
        )
    [token] = await rows(
        engine, "SELECT access_token FROM channels WHERE phone_number_id = :n", n=SALES
    )

    # The env's, stored at start-up, encrypted.
    assert active().decrypt(token["access_token"]) == "test-access-token"
    assert "test-access-token" not in token["access_token"]
    assert len(listed["items"]) == 5
    assert newest["contact"]["wa_id"] == "555"
    assert newest["owner"] == {"type": "ai", "id": None, "name": "bot"}
    assert [m["text"] for m in history["items"]] == ["message 9", "message 10"]
    assert created.status_code == 201


async def test_it_goes_back_down_and_up_again(engine: AsyncEngine) -> None:
    before = await store_history(engine)
    await run_alembic(engine, "upgrade", PLATFORM)

    await run_alembic(engine, "downgrade", before)
    kept = await rows(engine, "SELECT id FROM messages")
    await run_alembic(engine, "upgrade", PLATFORM)

    assert len(kept) == len(HISTORY)
    assert len(await rows(engine, "SELECT id FROM conversations")) == 5


async def test_the_migrated_schema_is_the_models_schema(engine: AsyncEngine) -> None:
    await run_alembic(engine, "upgrade", "head")

    def differences(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def _naive(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
