"""Scheduled messages in one router: the API, and each due time sent once on the durable path."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
from sqlalchemy import update

from app.conversations.models import Conversation
from app.core.clock import utcnow
from app.core.engine import create_engine
from app.schedules import runs
from app.schedules.models import Schedule

from ..backends import fresh_redis, migrated_postgres
from ..conftest import RouterUnderTest, make_settings, running_router
from ..factories import contacts, conversations
from ..factories.store import Sessions
from ..graph_api import GraphApi
from ..support import wait_until

CHANNEL = 1  # the env's number, the default tenant's channel


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, database_url: str) -> str:
    return await migrated_postgres() if request.param == "postgresql" else database_url


def settings_for(store_url: str) -> Any:
    return make_settings(database_url=store_url, router_scheduler_interval_seconds=0.05)


@pytest.fixture
async def router(
    store_url: str, mock_http: respx.MockRouter, graph_route: GraphApi
) -> AsyncIterator[RouterUnderTest]:
    async with running_router(settings_for(store_url)) as under_test:
        yield under_test


@pytest.fixture
async def api(
    database_url: str, mock_http: respx.MockRouter, graph_route: GraphApi
) -> AsyncIterator[RouterUnderTest]:
    """A router on SQLite, for what the API refuses before the store is asked."""
    async with running_router(settings_for(database_url)) as under_test:
        yield under_test


def sessions_of(router: RouterUnderTest) -> Sessions:
    sessions: Sessions = router.state.sessions
    return sessions


async def writing_contact(router: RouterUnderTest, wa_id: str) -> int:
    """A contact who wrote a minute ago: their 24-hour window is open."""
    s = sessions_of(router)
    contact = await contacts.contact(s, 1, wa_id=wa_id)
    await conversations.conversation(
        s, 1, CHANNEL, contact.id, last_inbound_at=utcnow() - timedelta(minutes=1)
    )
    return contact.id


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def scheduled(router: RouterUnderTest, **body: Any) -> dict[str, Any]:
    """A schedule made through the API, on the env's channel."""
    created = await router.admin("POST", "/api/v1/schedules", json={"channel_id": CHANNEL, **body})
    assert created.status_code == 201, created.text
    schedule: dict[str, Any] = created.json()
    return schedule


async def schedule_of(router: RouterUnderTest, schedule_id: int) -> dict[str, Any]:
    got: dict[str, Any] = (await router.admin("GET", f"/api/v1/schedules/{schedule_id}")).json()
    return got


async def once_first_message_is(
    router: RouterUnderTest, schedule_id: int, status: str
) -> dict[str, Any]:
    """The schedule, once its first message is `status`."""

    async def reached() -> bool:
        got = await schedule_of(router, schedule_id)
        return bool(got["messages"]) and got["messages"][0]["status"] == status

    await wait_until(reached, timeout=15, interval=0.02)
    return await schedule_of(router, schedule_id)


def sent_to(graph: GraphApi) -> list[tuple[str, str]]:
    """The texts sent, to whom."""
    sent = [json.loads(call.request.content) for call in graph.calls]
    return [(p["to"], p["text"]["body"]) for p in sent if p["type"] == "text"]


async def test_a_message_due_in_two_seconds_is_sent_once(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    contact_id = await writing_contact(router, "15550100001")
    schedule = await scheduled(router, to=contact_id, text="on time", send_at=iso_in(2))
    due = datetime.fromisoformat(schedule["next_run_at"])
    assert (schedule["status"], schedule["to"], schedule["messages"]) == (
        "active",
        [contact_id],
        [],
    )

    done = await once_first_message_is(router, schedule["id"], "accepted")
    assert datetime.now(UTC) >= due
    [message] = done["messages"]
    assert sent_to(graph_route) == [("15550100001", "on time")]
    assert (done["status"], done["next_run_at"]) == ("done", None)
    assert datetime.fromisoformat(done["last_run_at"]) >= due
    assert (message["contact_id"], message["wamid"]) == (contact_id, "wamid.sent1")
    # Nothing is due any more, however often the store is asked.
    assert await runs.run_due(router.state.repository._engine, utcnow() + timedelta(days=1)) == []
    stored = (await router.admin("GET", f"/api/v1/messages/{message['id']}")).json()
    assert (stored["direction"], stored["status"], stored["text"]) == (
        "outbound",
        "accepted",
        "on time",
    )


async def test_each_recipient_gets_one_message_and_a_number_that_never_wrote_needs_a_template(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    known = await writing_contact(router, "15550100002")
    schedule = await scheduled(
        router, to=[known, "15550100003", "15550100002"], text="news", send_at=iso_in(0)
    )
    new_contact = next(c for c in schedule["to"] if c != known)
    assert schedule["to"] == [known, new_contact]  # a wa_id naming a known contact is that one

    async def settled() -> bool:
        got = await schedule_of(router, schedule["id"])
        return {m["status"] for m in got["messages"]} == {"accepted", "failed"}

    await wait_until(settled, timeout=15, interval=0.02)
    got = await schedule_of(router, schedule["id"])
    by_contact = {m["contact_id"]: m for m in got["messages"]}
    assert sent_to(graph_route) == [("15550100002", "news")]
    refused = by_contact[new_contact]
    assert (refused["status"], refused["error_title"]) == ("failed", "a template is needed")
    # The number became a contact, with a conversation whose window is closed.
    contact = (await router.admin("GET", f"/api/v1/contacts/{new_contact}")).json()
    assert contact["wa_id"] == "15550100003"
    conversation = (
        await router.admin("GET", f"/api/v1/conversations/{refused['conversation_id']}")
    ).json()
    assert conversation["contact"]["id"] == new_contact


async def test_missed_cron_runs_run_once_on_start(
    store_url: str, mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    settings = settings_for(store_url)
    async with running_router(settings) as router:
        contact_id = await writing_contact(router, "15550100004")
        created = await scheduled(
            router, to=contact_id, text="every minute", cron="* * * * *", timezone="Europe/Paris"
        )
        schedule_id = created["id"]
    # The router was down for an hour: sixty runs were missed.
    engine = create_engine(store_url)
    async with engine.begin() as connection:
        await connection.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(next_run_at=utcnow() - timedelta(hours=1))
        )
    await engine.dispose()

    started = datetime.now(UTC)
    async with running_router(settings) as router:
        got = await once_first_message_is(router, schedule_id, "accepted")
        now = datetime.now(UTC)
        next_run = datetime.fromisoformat(got["next_run_at"])
    assert sent_to(graph_route) == [("15550100004", "every minute")]
    assert len(got["messages"]) == 1
    assert got["status"] == "active"
    # The next run is the minute after the run (which came after `started`), not the next of the
    # missed ones. Measured from `started`: a run at :59.9 is due again at :00, before `now`.
    assert started < next_run <= now + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"cron": "61 * * * *"}, "cron", "bad cron expression '61 * * * *': Bad minute"),
        ({"cron": "0 0 30 2 *"}, "cron", "bad cron expression '0 0 30 2 *'"),
        ({"cron": "* * * * * *"}, "cron", None),  # six fields: not the schema's shape
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus'"),
        ({"send_at": "2026-12-01T10:00:00", "timezone": "Europe/Nowhere"}, "timezone", None),
    ],
)
async def test_a_bad_cron_expression_or_time_zone_is_a_422_naming_it(
    api: RouterUnderTest, body: dict[str, str], field: str, words: str | None
) -> None:
    response = await api.admin(
        "POST", "/api/v1/schedules", json={"channel_id": CHANNEL, "to": 1, "text": "x", **body}
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    if words:
        assert words in error["msg"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"text": "x"}, "send_at or cron"),
        ({"text": "x", "send_at": "2030-01-01T00:00:00Z", "cron": "* * * * *"}, "send_at or cron"),
        ({"send_at": "2030-01-01T00:00:00Z"}, "text or template"),
    ],
)
async def test_one_of_text_or_template_and_one_of_send_at_or_cron(
    api: RouterUnderTest, body: dict[str, str], words: str
) -> None:
    response = await api.admin(
        "POST", "/api/v1/schedules", json={"channel_id": CHANNEL, "to": 1, **body}
    )

    assert response.status_code == 422
    assert words in response.text


async def test_a_template_goes_to_a_number_that_never_wrote(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    template = {"name": "hello_world", "language": "en_US", "components": []}
    created = await scheduled(router, to="15550100005", template=template, send_at=iso_in(0))

    got = await once_first_message_is(router, created["id"], "accepted")
    [payload] = [json.loads(call.request.content) for call in graph_route.calls]
    assert (payload["to"], payload["type"]) == ("15550100005", "template")
    assert (payload["template"]["name"], payload["template"]["language"]["code"]) == (
        "hello_world",
        "en_US",
    )
    assert got["template"] == template
    stored = (await router.admin("GET", f"/api/v1/messages/{got['messages'][0]['id']}")).json()
    assert stored["type"] == "template"


async def test_a_template_on_an_api_channel_is_a_422(api: RouterUnderTest) -> None:
    channel = await api.admin("POST", "/api/v1/channels", json={"type": "api", "name": "Web"})
    template = {"name": "hello_world", "language": "en_US"}
    response = await api.admin(
        "POST",
        "/api/v1/schedules",
        json={
            "channel_id": channel.json()["id"],
            "to": "15550100005",
            "template": template,
            "cron": "0 9 * * *",
        },
    )

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("template: channel")


async def test_unknown_channel_or_contact_is_404(api: RouterUnderTest) -> None:
    later = iso_in(3600)
    no_channel = await api.admin(
        "POST",
        "/api/v1/schedules",
        json={"channel_id": 99, "to": "15550100099", "text": "x", "send_at": later},
    )
    no_contact = await api.admin(
        "POST",
        "/api/v1/schedules",
        json={"channel_id": CHANNEL, "to": 99, "text": "x", "send_at": later},
    )

    assert (no_channel.status_code, no_contact.status_code) == (404, 404)
    assert no_contact.json()["error"]["message"] == "to: no contact 99"


async def test_change_and_cancel(router: RouterUnderTest, graph_route: GraphApi) -> None:
    contact_id = await writing_contact(router, "15550100006")
    created = await scheduled(
        router, to=contact_id, text="weekly", cron="0 9 * * MON", timezone="America/New_York"
    )
    schedule_id = created["id"]
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert next_run.astimezone(UTC).hour in (13, 14)  # 9:00 in New York, summer or winter

    changed = await router.admin(
        "PATCH",
        f"/api/v1/schedules/{schedule_id}",
        json={"send_at": "2030-01-02T08:00:00", "timezone": "Asia/Tokyo", "text": "once"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["cron"], changed.json()["text"]) == (None, "once")
    assert changed.json()["next_run_at"] == "2030-01-01T23:00:00+00:00"

    cancelled = await router.admin("DELETE", f"/api/v1/schedules/{schedule_id}")
    again = await router.admin("DELETE", f"/api/v1/schedules/{schedule_id}")
    patched = await router.admin(
        "PATCH", f"/api/v1/schedules/{schedule_id}", json={"text": "too late"}
    )
    listed = await router.admin("GET", "/api/v1/schedules", params={"status": "cancelled"})

    assert (cancelled.json()["status"], cancelled.json()["next_run_at"]) == ("cancelled", None)
    assert again.json()["status"] == "cancelled"
    assert patched.status_code == 409
    assert [s["id"] for s in listed.json()["items"]] == [schedule_id]
    engine = router.state.repository._engine
    assert await runs.run_due(engine, datetime(2031, 1, 1)) == []
    assert not graph_route.called


async def test_a_text_goes_once_the_window_is_open_and_not_to_a_closed_one(
    router: RouterUnderTest, graph_route: GraphApi, tmp_path: Path
) -> None:
    contact_id = await writing_contact(router, "15550100007")
    async with sessions_of(router)() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.contact_id == contact_id)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
        await session.commit()
    created = await scheduled(router, to=contact_id, text="late", send_at=iso_in(0))

    await once_first_message_is(router, created["id"], "failed")
    assert not graph_route.called


async def test_only_routers_that_run_jobs_poll_for_schedules(
    database_url: str, mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    shared = {"database_url": database_url, "queue_url": await fresh_redis()}
    async with (
        running_router(make_settings(**shared, router_process_jobs=False)) as web,
        running_router(make_settings(**shared)) as worker,
    ):
        assert not web.state.scheduler.running
        assert worker.state.scheduler.running
