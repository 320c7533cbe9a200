"""The hardened WhatsApp gateway's operations paths: `/monitoring/queue/health`,
`/rate-limit/health` and `/rate-limit/stats/{phone_number}`, answered from the monitoring API's
figures, for the operator alone."""

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.auth.roles import Role

from ..backends import fresh_rabbitmq, fresh_redis, fresh_store, tcp_proxy
from ..conftest import (
    ADMIN_KEY,
    APP_SECRET,
    SERVER_URL,
    RouterUnderTest,
    make_settings,
    openapi_document,
    running_router,
)
from ..factories import channels, tenants
from ..factories.store import Sessions
from ..graph_api import GraphApi
from ..meta import PHONE_NUMBER_ID, signed, text_message
from ..support import wait_until

CHANNEL_NUMBER = "100200300"  # the factory's channel, shown as "+1 555 0100"
PATHS = ["/monitoring/queue/health", "/rate-limit/health", f"/rate-limit/stats/{PHONE_NUMBER_ID}"]


async def operator(router: RouterUnderTest, path: str) -> Any:
    response = await router.admin("GET", path)
    assert response.status_code == 200, response.text
    return response.json()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def sessions_of(router: RouterUnderTest) -> Sessions:
    sessions: Sessions = router.state.sessions
    return sessions


async def test_the_gateways_paths_are_the_operators_alone(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        tenant = await tenants.tenant(sessions_of(router))
        _, owner_key = await tenants.api_key(sessions_of(router), tenant.id, Role.OWNER)
        answers = {
            (path, who): (await router.client.get(path, headers=headers)).status_code
            for path in PATHS
            for who, headers in (
                ("nobody", {}),
                ("a wrong key", {"X-API-Key": "nope"}),
                ("a tenant's owner", {"X-API-Key": owner_key}),
                ("the operator", {"X-API-Key": ADMIN_KEY}),
            )
        }

    assert answers == {
        (path, who): status
        for path in PATHS
        for who, status in (
            ("nobody", 401),
            ("a wrong key", 401),
            ("a tenant's owner", 403),
            ("the operator", 200),
        )
    }


def without_heartbeats(queue: dict[str, Any]) -> dict[str, Any]:
    """The queue's figures but what a worker's heartbeat renews between two reads."""
    workers = [
        {k: v for k, v in w.items() if k not in ("seen_at", "running")} for w in queue["workers"]
    ]
    return {**queue, "workers": workers}


async def test_the_queues_health_is_the_monitoring_apis_queue_with_a_status(
    mock_http: respx.MockRouter, graph_route: GraphApi, database_url: str
) -> None:
    mock_http.post(f"{SERVER_URL}/process").respond(500)  # the message ends failed: a figure
    async with running_router(make_settings(database_url=database_url)) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.gw.1", "hi"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()
        health = await router.admin("GET", "/monitoring/queue/health")
        figures = await operator(router, "/api/v1/monitoring/queue")

    assert health.status_code == 200
    answered = health.json()
    assert (answered.pop("status"), answered.pop("queue")) == ("ok", "memory")
    assert figures["failed"] == 1
    assert without_heartbeats(answered) == without_heartbeats(figures)


async def test_the_queues_health_is_503_when_the_queue_does_not_answer(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    shared = await fresh_rabbitmq()
    async with tcp_proxy(shared["queue_url"], 5672) as proxy:
        settings = make_settings(database_url=database_url, **{**shared, "queue_url": proxy.url})
        async with running_router(settings) as router:
            up = await router.admin("GET", "/monitoring/queue/health")
            await proxy.cut()
            down = await router.admin("GET", "/monitoring/queue/health")
            figures = await operator(router, "/api/v1/monitoring/queue")

    assert up.status_code == 200
    assert (up.json()["status"], up.json()["queue"]) == ("ok", "rabbitmq")
    assert down.status_code == 503
    assert (down.json()["status"], down.json()["queue"]) == ("unavailable", "rabbitmq")
    # The figures are the store's: still there for an operator to read.
    assert down.json()["depth"] == figures["depth"] == 0


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_numbers_stats_by_its_id_or_its_display_number(
    mock_http: respx.MockRouter, tmp_path: Path, store: str
) -> None:
    settings = make_settings(database_url=await fresh_store(store, tmp_path))
    async with running_router(settings) as router:
        tenant = await tenants.tenant(sessions_of(router))
        await channels.channel(sessions_of(router), tenant.id, CHANNEL_NUMBER)
        figures = await operator(router, f"/api/v1/monitoring/rate-limits/{CHANNEL_NUMBER}")
        found = {
            asked: await router.admin("GET", f"/rate-limit/stats/{asked}")
            for asked in (CHANNEL_NUMBER, "15550100", "+15550100", "%2B15550100")
        }
        unknown = await router.admin("GET", "/rate-limit/stats/15559999")
        unknown_displayed = await router.admin("GET", "/rate-limit/stats/+100200300")
        not_a_number = await router.admin("GET", "/rate-limit/stats/+1-555-0100")

    assert {asked: r.status_code for asked, r in found.items()} == dict.fromkeys(found, 200)
    assert all(r.json() == figures for r in found.values())
    assert figures["phone_number_id"] == CHANNEL_NUMBER
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    # "+" writes a display number: a phone_number_id is never written with one.
    assert unknown_displayed.status_code == 404
    assert not_a_number.status_code == 422


async def test_a_numbers_stats_are_the_monitoring_apis_after_sends(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    settings = make_settings(database_url=database_url, whatsapp_messages_per_second=2)
    async with running_router(settings) as router:
        for n in range(3):
            body, headers = signed(APP_SECRET, text_message(f"wamid.gws.{n}", "hi"))
            assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()
        path = f"/api/v1/monitoring/rate-limits/{PHONE_NUMBER_ID}"

        async def window_passed() -> bool:
            # The one-second window moves on its own: compare once it holds nothing.
            return bool((await operator(router, path))["sent_last_second"] == 0)

        await wait_until(window_passed, interval=0.02)
        figures = await operator(router, path)
        stats = await operator(router, f"/rate-limit/stats/{PHONE_NUMBER_ID}")

    assert figures["sent_last_minute"] == 3
    assert figures["waits"] >= 1  # two a second: the third waited
    assert stats == figures


async def test_the_rate_limits_health_says_where_its_store_is_and_that_it_answers(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    answers = {}
    for store_url in ("memory://", await fresh_redis()):
        settings = make_settings(database_url=database_url, router_rate_limit_url=store_url)
        async with running_router(settings) as router:
            answers[store_url.split(":")[0]] = await router.admin("GET", "/rate-limit/health")

    assert {store: r.status_code for store, r in answers.items()} == {"memory": 200, "redis": 200}
    assert answers["memory"].json() == {
        "status": "ok",
        "store": "memory",
        "window": "process",
        "messages_per_second": 80,
    }
    assert answers["redis"].json()["store"] == "redis"
    assert answers["redis"].json()["window"] == "shared"


async def test_an_unreachable_rate_limit_store_is_a_503_here_and_on_health(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    settings = make_settings(
        database_url=database_url, router_rate_limit_url=f"redis://127.0.0.1:{closed_port()}/0"
    )
    async with running_router(settings) as router:
        gateway = await router.admin("GET", "/rate-limit/health")
        health = await router.client.get("/health")

    assert gateway.status_code == 503
    assert gateway.json() == {
        "status": "unavailable",
        "store": "redis",
        "window": "shared",
        "messages_per_second": 80,
    }
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["checks"]["rate_limit"].startswith("down")
    assert health.json()["checks"]["database"] == health.json()["checks"]["queue"] == "up"


def test_the_gateways_paths_are_in_the_openapi() -> None:
    paths = openapi_document()["paths"]

    for path in [*PATHS[:2], "/rate-limit/stats/{phone_number}"]:
        assert set(paths[path]) == {"get"}
        assert {"200", "401", "403"} <= set(paths[path]["get"]["responses"])
