"""Scheduled messages through real router processes: a due time is sent once, by two worker
routers sharing PostgreSQL and Redis, and by a router SIGKILLed while a schedule fell due."""

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.core.clock import utcnow
from app.core.engine import create_engine, session_factory
from app.schedules.models import Schedule

from ..backends import POSTGRES_DATABASE, fresh_postgres, fresh_redis
from ..factories import contacts, conversations
from ..meta import PHONE_NUMBER_ID
from ..support import free_port, in_thread, service, wait_until_sync
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

ACCESS_TOKEN = "schedules-access-token"
ADMIN_KEY = "schedules-admin-key"
HEADERS = {"X-API-Key": ADMIN_KEY}
CHANNEL = 1  # the env's number: the default tenant's channel


@pytest.fixture
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    standin = GraphStandIn(ACCESS_TOKEN)
    with in_thread(standin.app) as url:
        yield standin, url


def router_env(graph_url: str, database_url: str, **more: str) -> dict[str, str]:
    return {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "schedules-verify",
        "WHATSAPP_APP_SECRET": "schedules-app-secret",
        "WHATSAPP_GRAPH_API_URL": graph_url,
        "SERVER_BASE_URL": "http://127.0.0.1:9",  # no reply is asked for here
        "DATABASE_URL": database_url,
        "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
        "ROUTER_LEASE_SECONDS": "2",
        "ROUTER_SWEEP_SECONDS": "0.3",
        **more,
    }


async def _writing_contacts(database_url: str, wa_ids: list[str]) -> list[int]:
    """Contacts of the default tenant who wrote a minute ago: their windows are open."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    ids = []
    try:
        for wa_id in wa_ids:
            contact = await contacts.contact(sessions, 1, wa_id=wa_id)
            await conversations.conversation(
                sessions, 1, CHANNEL, contact.id, last_inbound_at=utcnow() - timedelta(minutes=1)
            )
            ids.append(contact.id)
    finally:
        await engine.dispose()
    return ids


async def _miss_runs(database_url: str, schedule_id: int) -> None:
    """As if the router had been down for an hour: the schedule's next run is an hour ago."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Schedule)
                .where(Schedule.id == schedule_id)
                .values(next_run_at=utcnow() - timedelta(hours=1))
            )
    finally:
        await engine.dispose()


# One client for the module: a client of its own per call costs a TLS context each.
API = httpx.Client(headers=HEADERS, timeout=10)


@pytest.fixture(autouse=True, scope="module")
def _close_the_client() -> Iterator[None]:
    yield
    API.close()


def _schedule(router_url: str, **body: Any) -> dict[str, Any]:
    response = API.post(f"{router_url}/api/v1/schedules", json={"channel_id": CHANNEL, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _schedules(router_url: str, ids: list[int]) -> list[dict[str, Any]]:
    response = API.get(f"{router_url}/api/v1/schedules", params={"limit": 200})
    by_id = {s["id"]: s for s in response.json()["items"]}
    return [by_id[i] for i in ids]


def _all_accepted(router_url: str, ids: list[int], each: int) -> bool:
    return all(
        len(s["messages"]) >= each and all(m["status"] == "accepted" for m in s["messages"])
        for s in _schedules(router_url, ids)
    )


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.timeout(300)  # two routers start, on a machine that may be busy
def test_two_worker_routers_on_postgresql_and_redis_send_each_due_time_once(
    graph: tuple[GraphStandIn, str], tmp_path: Path
) -> None:
    standin, graph_url = graph
    database_url = asyncio.run(fresh_postgres(f"{POSTGRES_DATABASE}_schedules"))
    env = router_env(
        graph_url,
        database_url,
        QUEUE_URL=asyncio.run(fresh_redis()),
        # Both poll often, so both find each schedule due within the same instant.
        ROUTER_SCHEDULER_INTERVAL_SECONDS="0.05",
    )
    wa_ids = [f"1555600{i:04d}" for i in range(20)]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()

    with service("router", env, tmp_path / "a") as first, service("router", env, tmp_path / "b"):
        contact_ids = asyncio.run(_writing_contacts(database_url, wa_ids))
        due_in_two = _in(2)
        # Ten schedules of two recipients each, all due at the same moment.
        schedules = [
            _schedule(first.url, to=contact_ids[i : i + 2], text=f"batch {i}", send_at=due_in_two)
            for i in range(0, 20, 2)
        ]
        ids = [s["id"] for s in schedules]
        wait_until_sync(
            lambda: _all_accepted(first.url, ids, 2),
            timeout=30,
            what="every scheduled message to be accepted",
        )
        sent_at = datetime.now(UTC)
        final = _schedules(first.url, ids)

    assert sent_at >= datetime.fromisoformat(due_in_two)
    for i, wa_id in enumerate(wa_ids):
        assert standin.texts_to(wa_id) == [f"batch {i - i % 2}"], wa_id
    assert all(s["status"] == "done" and len(s["messages"]) == 2 for s in final)


# The restart begins by this second of a minute, so that it is over (a few seconds) before the
# next minute begins.
LATEST_SECOND = 40


@pytest.mark.timeout(300)
def test_a_router_killed_while_schedules_fall_due_sends_each_once_after_restart(
    graph: tuple[GraphStandIn, str], tmp_path: Path
) -> None:
    standin, graph_url = graph
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    env = router_env(graph_url, database_url)
    port = free_port()

    with service("router", env, tmp_path, port=port) as router:
        one, every = asyncio.run(_writing_contacts(database_url, ["15557000001", "15557000002"]))
        due_in_three = _in(3)
        once = _schedule(router.url, to=one, text="once", send_at=due_in_three)
        cron = _schedule(router.url, to=every, text="every minute", cron="* * * * *")
        os.killpg(router.process.pid, signal.SIGKILL)
        router.process.wait()

    # Down while the one-off falls due and while the cron schedule misses an hour of runs.
    asyncio.run(_miss_runs(database_url, cron["id"]))
    wait_until_sync(
        lambda: datetime.now(UTC) > datetime.fromisoformat(due_in_three),
        timeout=30,
        what="the due time",
    )
    assert not standin.sent
    # Started early in a minute: the catch-up run's next minute does not come round while the test
    # reads what it did (a second run, and a next_run_at already past, would be right then too).
    wait_until_sync(
        lambda: datetime.now(UTC).second < LATEST_SECOND,
        timeout=60 - LATEST_SECOND + 5,
        what=f"second {LATEST_SECOND} of a minute or earlier",
    )

    with service("router", env, tmp_path, port=port) as router:
        ids = [once["id"], cron["id"]]
        wait_until_sync(
            lambda: _all_accepted(router.url, ids, 1),
            timeout=30,
            what="the scheduled messages to be accepted",
        )
        after_once, after_cron = _schedules(router.url, ids)

    assert standin.texts_to("15557000001") == ["once"]
    assert standin.texts_to("15557000002") == ["every minute"]
    assert (after_once["status"], len(after_once["messages"])) == ("done", 1)
    assert (after_cron["status"], len(after_cron["messages"])) == ("active", 1)
    next_run = datetime.fromisoformat(after_cron["next_run_at"])
    assert datetime.now(UTC) < next_run <= datetime.now(UTC) + timedelta(minutes=1)
