"""`/api/v1/monitoring`: the queue and its workers, each number's rate limit, the circuit breakers;
and, with a webhook router and a worker router on PostgreSQL and Redis, each one's metrics."""

import asyncio
import json
import os
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from purgatory.domain.model import Context
from purgatory.typing import StateName
from sqlalchemy import select, update

from app.core.clock import utcnow
from app.core.engine import create_engine, migrate
from app.messages.models import Direction
from app.monitoring.models import Worker
from app.monitoring.repository import Beat, MonitoringRepository
from app.observability.circuits import circuit_view
from app.observability.sends import SendStats

from ..backends import fresh_redis, migrated_postgres
from ..conftest import APP_SECRET, SERVER_URL, RouterUnderTest, make_settings, running_router
from ..graph_api import GraphApi, accepted, meta_error
from ..meta import PHONE_NUMBER_ID, signed, text_message
from ..support import key, scrape, wait_until


async def post(router: RouterUnderTest, payload: Any) -> None:
    body, headers = signed(APP_SECRET, payload)
    response = await router.client.post("/webhook", content=body, headers=headers)
    assert response.status_code == 200


async def monitoring(router: RouterUnderTest, path: str) -> Any:
    response = await router.admin("GET", f"/api/v1/monitoring{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_webhook_router_and_a_worker_router_each_count_their_part(
    server_route: respx.Route, graph_route: GraphApi
) -> None:
    shared = {
        "database_url": await migrated_postgres(),
        "queue_url": await fresh_redis(),
        "router_heartbeat_seconds": 0.2,
        "router_metrics_cache_seconds": 0,
    }
    texts = [text_message(f"wamid.split.{n}", "hi", wa_id=f"1555000000{n}") for n in range(3)]
    async with running_router(make_settings(**shared, router_process_jobs=False)) as web:
        for body in texts:
            await post(web, body)
        waiting = await monitoring(web, "/queue")

        async with running_router(make_settings(**shared)) as worker:
            worker_id = worker.state.monitoring.process.id

            async def listed() -> bool:
                workers = (await monitoring(web, "/queue"))["workers"]
                return [w["id"] for w in workers] == [worker_id]

            await wait_until(listed, interval=0.02)
            await worker.settle()
            done = await monitoring(web, "/queue")
            circuits = await monitoring(web, "/circuits")
            rate_limits = await monitoring(web, f"/rate-limits/{PHONE_NUMBER_ID}")
            web_metrics, worker_metrics = await scrape(web.client), await scrape(worker.client)
        gone = await monitoring(web, "/queue")

    assert waiting["depth"] == 3
    assert waiting["oldest_age_seconds"] > 0
    assert waiting["workers"] == []  # the webhook router runs no jobs: no heartbeat
    assert done["depth"] == done["in_flight"] == done["failed"] == 0
    [listed_worker] = done["workers"]
    assert listed_worker["pid"] == os.getpid()
    assert listed_worker["queue"] == "redis"
    assert gone["workers"] == []  # a worker that stops cleanly leaves the list at once
    assert [(i["worker"], i["this_process"]) for i in circuits["items"]] == [
        (None, True),
        (worker_id, False),
    ]
    for process in circuits["items"]:
        assert [(c["name"], c["state"]) for c in process["circuits"]] == [("server", "closed")]
    assert rate_limits["window"] == "shared"
    assert rate_limits["sent_last_minute"] == 0  # this process sent nothing; the worker did

    # The webhook router took the webhooks and stored them; the worker did the rest.
    assert web_metrics.since_start() == {
        key("router_webhook_requests_total", outcome="accepted"): 3,
        key("router_webhook_ack_seconds_count"): 3,
        key("router_messages_total", direction="inbound", status="received"): 3,
    } | without_counts(web_metrics.since_start())
    worker_moves = worker_metrics.since_start()
    assert not any(k[0].startswith("router_webhook_") for k in worker_moves)
    assert worker_moves == {
        **status_moves(Direction.INBOUND, processing=3, replied=3),
        **status_moves(Direction.OUTBOUND, pending=3, accepted=3),
        key("router_graph_requests_total", phone_number_id=PHONE_NUMBER_ID, outcome="ok"): 3,
        key("router_backend_request_seconds_count", agent="server"): 3,
        key("router_rate_limit_wait_seconds_count", phone_number_id=PHONE_NUMBER_ID): 3,
    } | without_counts(worker_moves)
    assert web_metrics.value("router_queue_depth") == 0
    assert worker_metrics.value("router_queue_depth") == 0


def status_moves(direction: Direction, **counts: int) -> dict[Any, float]:
    return {
        key("router_messages_total", direction=direction.value, status=status): count
        for status, count in counts.items()
    }


def without_counts(moves: dict[Any, float]) -> dict[Any, float]:
    """The histograms' `_sum` and `_bucket` series, which move by what the machine took."""
    return {k: v for k, v in moves.items() if k[0].endswith(("_sum", "_bucket"))}


async def test_the_queue_shows_what_waits_what_is_held_and_what_retries(
    mock_http: respx.MockRouter, graph_route: GraphApi, database_url: str
) -> None:
    release = asyncio.Event()
    calls = 0

    async def fails_then_hangs(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(500)
        await release.wait()
        text = json.loads(request.content)["text"]
        return httpx.Response(200, json={"original": text, "reply": "late"})

    mock_http.post(f"{SERVER_URL}/process").mock(side_effect=fails_then_hangs)
    settings = make_settings(
        database_url=database_url, server_timeout_seconds=30, router_lease_seconds=30
    )
    async with running_router(settings) as router:
        await post(router, text_message("wamid.q.1", "first"))
        await post(router, text_message("wamid.q.2", "second"))  # behind the first: same contact

        async def held() -> bool:
            return bool((await monitoring(router, "/queue"))["retrying"])

        await wait_until(held, interval=0.02)
        busy = await monitoring(router, "/queue")
        release.set()
        await router.settle()
        idle = await monitoring(router, "/queue")

    assert busy["in_flight"] == 1  # the first, its Server call pending after one failure
    assert busy["retrying"] == 1
    assert busy["depth"] == 1  # the second waits for it
    assert busy["oldest_age_seconds"] > 0
    [this_process] = busy["workers"]
    assert this_process["running"] in (0, 1)  # as of its last heartbeat
    assert (idle["depth"], idle["in_flight"], idle["retrying"], idle["failed"]) == (0, 0, 0, 0)


async def test_rate_limits_show_each_numbers_sends_waits_and_throttling(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    throttled = False

    def graph(request: httpx.Request) -> httpx.Response:
        nonlocal throttled
        if not throttled:
            throttled = True
            return meta_error(429, 130429, "Rate limit hit")
        return accepted(f"wamid.{time.monotonic_ns()}")

    graph_route.mock(side_effect=graph)
    settings = make_settings(database_url=database_url, whatsapp_messages_per_second=2)
    async with running_router(settings) as router:
        for n in range(5):
            await post(router, text_message(f"wamid.rl.{n}", "hi", wa_id=f"1555000001{n}"))
        await router.settle()
        listed = await monitoring(router, "/rate-limits")
        one = await monitoring(router, f"/rate-limits/{PHONE_NUMBER_ID}")
        unknown = await router.admin("GET", "/api/v1/monitoring/rate-limits/999")
        not_a_number = await router.admin("GET", "/api/v1/monitoring/rate-limits/abc")

    assert [item["phone_number_id"] for item in listed["items"]] == [PHONE_NUMBER_ID]
    assert one["messages_per_second"] == 2
    assert one["window"] == "process"
    assert one["sent_last_minute"] == 6  # five replies, one of them sent twice
    assert 0 <= one["sent_last_second"] <= 2
    assert one["waits"] >= 3  # two a second: most of the six waited for the budget
    assert one["waited_seconds"] > 0.5
    assert one["throttled"] == 1
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert not_a_number.status_code == 422


async def test_an_open_circuit_is_shown_with_when_it_lets_a_call_through(
    mock_http: respx.MockRouter, graph_route: GraphApi, database_url: str
) -> None:
    mock_http.post(f"{SERVER_URL}/process").respond(500)
    settings = make_settings(
        database_url=database_url, router_breaker_threshold=1, router_breaker_ttl_seconds=60
    )
    async with running_router(settings) as router:
        before = await monitoring(router, "/circuits")
        await post(router, text_message("wamid.c.1", "hi"))
        await router.settle()
        after = await monitoring(router, "/circuits")
        queue = await monitoring(router, "/queue")
        metrics = await scrape(router.client)

    [[closed]] = [item["circuits"] for item in before["items"]]
    assert (closed["state"], closed["opens_after_failures"], closed["opened_at"]) == (
        "closed",
        1,
        None,
    )
    [process] = after["items"]
    assert process["this_process"]
    [circuit] = process["circuits"]
    assert circuit["state"] == "open"
    assert circuit["opens_after_failures"] is None
    opened_at = _time(circuit["opened_at"])
    assert _time(circuit["half_opens_at"]) - opened_at == 60
    assert metrics.value("router_circuit_state", name="server") == 2
    assert queue["failed"] == 1


def _time(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.parametrize(
    ("state", "opened_ago", "expected"),
    [
        ("closed", None, ("closed", None, 3)),
        ("opened", 5.0, ("open", 15.0, None)),
        ("opened", 25.0, ("half_open", None, None)),  # past its pause: the next call is a trial
        ("half-opened", 25.0, ("half_open", None, None)),
    ],
)
def test_a_circuit_view_says_what_changes_it_next(
    state: StateName, opened_ago: float | None, expected: tuple[str, float | None, int | None]
) -> None:
    now = 1_000_000.0
    opened_at = None if opened_ago is None else now - opened_ago
    context = Context(
        "server", threshold=5, ttl=20, state=state, failure_count=2, opened_at=opened_at
    )

    view = circuit_view(context, now)

    half_opens_in = view.half_opens_at.timestamp() - now if view.half_opens_at else None
    assert (view.state, half_opens_in, view.opens_after_failures) == expected


def test_a_numbers_last_minute_forgets_older_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("app.observability.sends.time.monotonic", lambda: clock[0])
    stats = SendStats()
    stats.sent("1")
    clock[0] = 130.5
    stats.sent("1", waited=0.25)
    stats.sent("1")
    assert stats.counts("1") is not None
    assert stats.counts("1").sent_last_minute == 3  # type: ignore[union-attr]
    clock[0] = 160.0  # the first is 60 s old: out
    assert stats.counts("1").sent_last_minute == 2  # type: ignore[union-attr]
    clock[0] = 220.0  # the same bucket a minute on: a new second, not the old one's count
    stats.sent("1")
    counts = stats.counts("1")
    assert counts is not None
    assert (counts.sent_last_minute, counts.waits, counts.waited_seconds) == (1, 1, 0.25)
    assert stats.counts("2") is None


async def test_the_monitoring_is_the_operators_alone(database_url: str) -> None:
    paths = ["/queue", "/rate-limits", f"/rate-limits/{PHONE_NUMBER_ID}", "/circuits"]
    async with running_router(make_settings(database_url=database_url)) as router:
        tenant = await router.admin("POST", "/api/v1/tenants", json={"name": "Acme"})
        created = await router.admin(
            "POST",
            f"/api/v1/tenants/{tenant.json()['id']}/api-keys",
            json={"name": "owner", "role": "owner"},
        )
        owner_key = created.json()["key"]
        answers = {
            (path, who): (
                await router.client.get(f"/api/v1/monitoring{path}", headers=headers)
            ).status_code
            for path in paths
            for who, headers in (
                ("nobody", {}),
                ("a wrong key", {"X-API-Key": "nope"}),
                ("a tenant's owner", {"X-API-Key": owner_key}),
            )
        }
    async with running_router(
        make_settings(database_url=database_url, router_admin_api_key=None)
    ) as unconfigured:
        off = await unconfigured.client.get("/api/v1/monitoring/queue")

    assert set(answers.values()) == {401}
    assert off.status_code == 503
    assert off.json()["error"]["code"] == "not_configured"


async def test_a_worker_that_died_drops_out_of_the_list_then_out_of_the_table(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    repository = MonitoringRepository(engine)
    now = utcnow()

    def beat(worker_id: str, started: datetime) -> Beat:
        return Beat(worker_id, "host", 1, "redis", started, 0, [])

    # Two that stopped beating without a word: two minutes ago, and two days ago.
    for worker_id, ago in (("quiet", timedelta(minutes=2)), ("long-gone", timedelta(days=2))):
        await repository.beat(beat(worker_id, now - ago))
        async with engine.begin() as connection:
            await connection.execute(
                update(Worker).where(Worker.id == worker_id).values(seen_at=now - ago)
            )
    await repository.beat(beat("alive", now))
    listed = await repository.workers(timedelta(minutes=1))
    async with engine.connect() as connection:
        kept = set((await connection.scalars(select(Worker.id))).all())
    await engine.dispose()

    assert [worker.id for worker in listed] == ["alive"]
    assert kept == {"alive", "quiet"}  # the one gone for days is forgotten by the next beat
