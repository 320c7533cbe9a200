"""The demo company (`python -m app.seed`): what it holds as the API shows it, and that seeding
again changes nothing but the two keys it prints, on SQLite and PostgreSQL."""

import json
import os
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.models import ApiKey
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.clock import utcnow
from app.core.engine import session_factory
from app.core.errors import Conflict
from app.messages.models import Message
from app.models import Base
from app.seed.__main__ import inbound_curl
from app.seed.content import (
    BLOCKED,
    HOURS,
    ORDER,
    SALES,
    SHIPPING,
    SUPPORT,
    TENANT,
    WAITING,
    WEB_CHAT,
)
from app.seed.demo import Seeded, seed_demo

from ..backends import migrated_store
from ..conftest import make_settings, running_router
from ..factories import channels, tenants

ROUTER_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 9, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        yield engine


def url_of(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


async def seed(engine: AsyncEngine, now: datetime | None = None) -> Seeded:
    async with session_factory(engine)() as session:
        return await seed_demo(session, now)


async def snapshot(engine: AsyncEngine, *skipped: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but `skipped`, in primary key order."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in skipped]
    async with engine.connect() as connection:
        return {
            t.name: [
                tuple(row)
                for row in await connection.execute(select(t).order_by(*t.primary_key.columns))
            ]
            for t in tables
        }


async def get(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> Any:
    response = await client.get(path, headers={"X-API-Key": key}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_demo_company_as_its_agent_and_owner_see_it(
    engine: AsyncEngine, mock_http: respx.MockRouter
) -> None:
    seeded = await seed(engine, utcnow())

    async with running_router(make_settings(database_url=url_of(engine))) as router:
        client, agent, owner = router.client, seeded.agent_key, seeded.owner_key
        listed = (await get(client, "/api/v1/conversations", agent))["items"]
        order = next(c for c in listed if c["contact"]["wa_id"] == ORDER.wa_id)
        history = await get(client, f"/api/v1/conversations/{order['id']}/messages", agent)
        detail = await get(client, f"/api/v1/conversations/{order['id']}", agent)
        members = (await get(client, "/api/v1/members", owner))["items"]
        numbers = (await get(client, "/api/v1/channels", agent))["items"]
        blocked = (await get(client, "/api/v1/contacts", agent, blocked="true"))["items"]
        keys = (await get(client, "/api/v1/api-keys", owner))["items"]
        agent_on_keys = await client.get("/api/v1/api-keys", headers={"X-API-Key": agent})

    agent_member = next(m for m in members if m["name"] == "Support Agent 1")
    # Newest activity first; the one owned by a human is the agent's; the oldest is closed.
    assert [c["contact"]["wa_id"] for c in listed] == [
        WAITING.wa_id,
        ORDER.wa_id,
        SHIPPING.wa_id,
        HOURS.wa_id,
    ]
    assert [(c["status"], c["owner"]["type"]) for c in listed] == [
        ("open", "ai"),
        ("open", "agent"),
        ("open", "ai"),
        ("closed", "ai"),
    ]
    assert order["owner"] == {"type": "agent", "id": agent_member["id"], "name": "Support Agent 1"}
    # The contact wrote 40 minutes ago: the 24-hour window is open.
    assert detail["window_expires_at"] > utcnow().isoformat()
    assert detail["channel"]["phone_number_id"] == SUPPORT.phone_number_id
    assert [(m["sender"], m["direction"], m["author"]["name"]) for m in history["items"]] == [
        ("contact", "inbound", "Order Customer"),
        ("ai", "outbound", "bot"),
        ("contact", "inbound", "Order Customer"),
        ("ai", "outbound", "bot"),
        ("agent", "outbound", "Support Agent 1"),
    ]
    assert history["items"][1]["text"].startswith(
        "I received your message: 'My order #1042 has not arrived yet'"
    )
    assert sorted((m["name"], m["role"]) for m in members) == [
        ("Demo Owner", "owner"),
        ("Support Agent 1", "agent"),
        ("Support Agent 2", "agent"),
    ]
    assert [(n["name"], n["phone_number_id"], n["display_phone_number"]) for n in numbers] == [
        ("Sales", SALES.phone_number_id, "+15550002000"),
        ("Support", SUPPORT.phone_number_id, "+15550003000"),
        (WEB_CHAT, None, None),
    ]
    assert numbers[-1]["type"] == "api"
    assert numbers[-1]["id"] == seeded.api_channel_id
    assert [c["name"] for c in blocked] == [BLOCKED.name]
    assert sorted((k["name"], k["role"], k["revoked_at"]) for k in keys) == [
        ("demo agent key", "agent", None),
        ("demo owner key", "owner", None),
    ]
    assert agent_on_keys.status_code == 403  # an agent reads and converses, no more


async def test_seeding_again_changes_nothing_but_the_keys_it_prints(
    engine: AsyncEngine, mock_http: respx.MockRouter
) -> None:
    first = await seed(engine, T0)
    before = await snapshot(engine, "api_keys")

    again = await seed(engine, T0 + timedelta(days=2))

    assert again.made == []
    assert await snapshot(engine, "api_keys") == before
    assert [c.access_token for c in again.channels] == [c.access_token for c in first.channels]
    async with engine.connect() as connection:
        keys = (await connection.execute(select(ApiKey.name, ApiKey.revoked_at))).all()
    assert sorted((name, revoked is None) for name, revoked in keys) == [
        ("demo agent key", False),
        ("demo agent key", True),
        ("demo owner key", False),
        ("demo owner key", True),
    ]
    async with running_router(make_settings(database_url=url_of(engine))) as router:
        for key, status in [
            (first.agent_key, 401),
            (first.owner_key, 401),
            (again.agent_key, 200),
            (again.owner_key, 200),
        ]:
            response = await router.client.get("/api/v1/conversations", headers={"X-API-Key": key})
            assert response.status_code == status, response.text


async def test_what_members_changed_stays_when_seeded_again(engine: AsyncEngine) -> None:
    await seed(engine, T0)
    async with engine.begin() as connection:
        await connection.execute(
            update(Contact)
            .where(Contact.wa_id == SHIPPING.wa_id)
            .values(name="Shipping Customer (VIP)", name_edited=True, is_blocked=True)
        )
        waiting = select(Contact.id).where(Contact.wa_id == WAITING.wa_id).scalar_subquery()
        order = select(Contact.id).where(Contact.wa_id == ORDER.wa_id).scalar_subquery()
        await connection.execute(
            update(Conversation).where(Conversation.contact_id == waiting).values(status="closed")
        )
        await connection.execute(
            update(Conversation)
            .where(Conversation.contact_id == order)
            .values(owner_member_id=None)
        )
    edited = await snapshot(engine, "api_keys")

    again = await seed(engine, T0)

    # The waiting customer's conversation stays closed: no new one is opened for the history it
    # already has.
    assert again.made == []
    assert await snapshot(engine, "api_keys") == edited


async def test_a_history_seeded_under_other_wamids_is_not_seeded_twice(engine: AsyncEngine) -> None:
    """A demo database seeded when its conversations had other names (so other wamids)."""
    await seed(engine, T0)
    async with engine.begin() as connection:
        await connection.execute(
            update(Message).values(wamid=func.replace(Message.wamid, "wamid.demo.", "wamid.old."))
        )
    before = await snapshot(engine, "api_keys")

    again = await seed(engine, T0)

    assert again.made == []
    assert await snapshot(engine, "api_keys") == before


async def test_a_demo_number_that_another_tenant_has_stops_the_seed(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    acme = await tenants.tenant(sessions, "Acme")
    await channels.channel(sessions, acme.id, SUPPORT.phone_number_id)

    with pytest.raises(Conflict, match=f"{SUPPORT.phone_number_id} is a channel of another tenant"):
        await seed(engine)


def run_seed(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.seed", *arguments],
        cwd=ROUTER_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_the_command_prints_the_keys_and_the_simulators_numbers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'router.db'}"  # no file, no schema yet

    printed = json.loads(run_seed(url, "--json").stdout)
    text = run_seed(url).stdout

    assert printed["owner_key"].startswith("wr_live_")
    assert printed["agent_key"].startswith("wr_live_")
    assert printed["owner_key"] not in text  # a new pair each run, the first one revoked
    assert "owner key (acts as Demo Owner): wr_live_" in text
    assert "made by this run: nothing, it was all there already" in text
    businesses = printed["simulator_businesses"]
    assert [(b["phone_number_id"], b["display_phone_number"], b["name"]) for b in businesses] == [
        (SALES.phone_number_id, "15550002000", "Demo company Sales"),
        (SUPPORT.phone_number_id, "15550003000", "Demo company Support"),
    ]
    assert all(b["access_token"] and b["waba_id"].isdigit() for b in businesses)
    assert TENANT in text
    assert f"(channel {printed['api_channel_id']})" in text
    assert printed["inbound_curl"].startswith("curl -X POST http://127.0.0.1:8000/webhooks/inbound")


async def test_the_printed_inbound_example_opens_a_conversation_the_bot_answers(
    engine: AsyncEngine, mock_http: respx.MockRouter, server_route: respx.Route
) -> None:
    seeded = await seed(engine, utcnow())
    curl = shlex.split(inbound_curl(seeded, "http://router"))
    body = json.loads(curl[curl.index("-d") + 1])
    headers = dict(h.split(": ", 1) for h in (curl[i + 1] for i, a in enumerate(curl) if a == "-H"))

    async with running_router(make_settings(database_url=url_of(engine))) as router:
        answered = await router.client.post(
            curl[3].removeprefix("http://router"), json=body, headers=headers
        )
        await router.settle()
        conversation = answered.json()["conversation_id"]
        messages = await get(
            router.client, f"/api/v1/conversations/{conversation}/messages", seeded.agent_key
        )

    assert answered.status_code == 202, answered.text
    assert [(m["sender"], m["text"]) for m in messages["items"]] == [
        ("contact", "Hello from the web chat"),
        ("ai", "I received your message: 'Hello from the web chat' and here is a random number: 7"),
    ]
