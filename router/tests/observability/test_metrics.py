"""GET /metrics: every counter moves by exactly what happened, on SQLite and PostgreSQL.

Signed webhooks come in (accepted, redelivered, unsigned, forged, malformed, oversized), the
Server answers, the Graph API stand-in accepts one contact's reply, throttles another's once
(130429) and refuses a third's for good (131047); then status webhooks, some repeated or out of
order, which move a message only once.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.messages.models import Direction, InboundStatus, OutboundStatus

from ..backends import fresh_redis, migrated_postgres
from ..conftest import APP_SECRET, make_settings, running_router
from ..graph_api import GraphApi, accepted, meta_error
from ..meta import PHONE_NUMBER_ID, signed, status_update, text_message
from ..support import key, scrape

FINE, THROTTLED, OUTSIDE_WINDOW = "15550000001", "15550000002", "15550000003"


def reply_wamid(to: str) -> str:
    return f"wamid.reply.{to}"


def graph_api() -> Any:
    """Accepts every send, but throttles the first to THROTTLED and refuses OUTSIDE_WINDOW's."""
    throttled = False

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal throttled
        to = json.loads(request.content)["to"]
        if to == THROTTLED and not throttled:
            throttled = True
            return meta_error(429, 130429, "Rate limit hit")
        if to == OUTSIDE_WINDOW:
            return meta_error(400, 131047, "Re-engagement message")
        return accepted(reply_wamid(to), to)

    return answer


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return await migrated_postgres()
    return f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"


async def test_each_counter_moves_by_exactly_what_happened(
    database: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    graph_route.mock(side_effect=graph_api())
    texts = [
        text_message(f"wamid.in.{to}", "hi", wa_id=to) for to in (FINE, THROTTLED, OUTSIDE_WINDOW)
    ]
    async with running_router(make_settings(database_url=database)) as router:

        async def post(payload: Any, *, secret: str | None = APP_SECRET) -> int:
            body, headers = signed(secret or "", payload)
            if secret is None:
                del headers["X-Hub-Signature-256"]
            response = await router.client.post("/webhook", content=body, headers=headers)
            return response.status_code

        before = await scrape(router.client)
        codes = [await post(body) for body in texts]
        codes.append(await post(texts[0]))  # redelivered
        codes.append(await post(texts[1], secret=None))
        codes.append(await post(texts[1], secret="forged"))
        codes.append(await post(b"{not json"))
        codes.append(await post({"object": "whatsapp_business_account", "entry": "nope"}))
        codes.append(await post(b" " * (1024 * 1024 + 1)))
        await router.settle()
        statuses = [
            status_update(reply_wamid(FINE), "sent"),
            status_update(reply_wamid(FINE), "delivered"),
            status_update(reply_wamid(FINE), "delivered"),  # again: no move
            status_update(reply_wamid(FINE), "sent"),  # late: never backwards
            status_update(reply_wamid(THROTTLED), "read"),
            status_update("wamid.nobody.knows", "delivered"),
        ]
        codes += [await post(body) for body in statuses]
        after = await scrape(router.client)

    assert codes == [200] * 4 + [401, 403, 400, 200, 413] + [200] * 6
    assert after - before == {
        **webhooks(accepted=3 + 6, duplicate=1, unsigned=1, bad_signature=1, malformed=3),
        key("router_webhook_ack_seconds_count"): 3 + 1 + 6,
        **moved(Direction.INBOUND, InboundStatus.RECEIVED, 3),
        **moved(Direction.INBOUND, InboundStatus.PROCESSING, 3),
        **moved(Direction.INBOUND, InboundStatus.REPLIED, 2),
        **moved(Direction.INBOUND, InboundStatus.FAILED, 1),
        **moved(Direction.OUTBOUND, OutboundStatus.PENDING, 3),
        **moved(Direction.OUTBOUND, OutboundStatus.ACCEPTED, 2),
        **moved(Direction.OUTBOUND, OutboundStatus.FAILED, 1),
        **moved(Direction.OUTBOUND, OutboundStatus.SENT, 1),
        **moved(Direction.OUTBOUND, OutboundStatus.DELIVERED, 1),
        **moved(Direction.OUTBOUND, OutboundStatus.READ, 1),
        **graph(ok=2, retryable=1, failed=1),
        key("router_graph_errors_total", code="130429"): 1,
        key("router_graph_errors_total", code="131047"): 1,
        key("router_backend_request_seconds_count", agent="server"): 3,
        key("router_rate_limit_wait_seconds_count", phone_number_id=PHONE_NUMBER_ID): 4,
    } | sums_and_buckets(after - before)
    assert server_route.call_count == 3
    assert graph_route.call_count == 4
    assert after.value("router_circuit_state", name="server") == 0
    assert after.value("router_queue_depth") == 0
    assert after.value("router_queue_oldest_age_seconds") == 0


def webhooks(**counts: int) -> dict[Any, float]:
    return {key("router_webhook_requests_total", outcome=o): n for o, n in counts.items()}


def moved(direction: Direction, status: str, count: int) -> dict[Any, float]:
    labels = {"direction": direction.value, "status": status}
    return {key("router_messages_total", **labels): count}


def graph(**counts: int) -> dict[Any, float]:
    return {
        key("router_graph_requests_total", phone_number_id=PHONE_NUMBER_ID, outcome=o): n
        for o, n in counts.items()
    }


def sums_and_buckets(moves: dict[Any, float]) -> dict[Any, float]:
    """A histogram's `_sum` and `_bucket` series move with its `_count`, by amounts that depend on
    the machine's speed: taken as they are (the counts are checked)."""
    return {k: v for k, v in moves.items() if k[0].endswith(("_sum", "_bucket"))}


async def test_the_histograms_buckets_hold_every_observation(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.one", "hi"))
        await router.client.post("/webhook", content=body, headers=headers)
        await router.settle()
        after = await scrape(router.client)

    for name, labels in (
        ("router_webhook_ack_seconds", {}),
        ("router_backend_request_seconds", {"agent": "server"}),
        ("router_rate_limit_wait_seconds", {"phone_number_id": PHONE_NUMBER_ID}),
    ):
        assert after.value(f"{name}_count", **labels) == 1
        assert after.value(f"{name}_bucket", le="+Inf", **labels) == 1
        assert 0 < after.value(f"{name}_sum", **labels) < 1


async def test_a_webhook_the_store_cannot_take_counts_as_unavailable(
    server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nothing",
        router_migrate_on_start=False,
    )
    async with running_router(settings) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.down", "hello"))
        response = await router.client.post("/webhook", content=body, headers=headers)
        after = await scrape(router.client)

    assert response.status_code == 503
    assert after.value("router_webhook_requests_total", outcome="unavailable") == 1
    assert after.value("router_webhook_ack_seconds_count") == 0  # no 200, no ack
    # The queue's gauges are left out rather than made up; the rest of the scrape still comes.
    assert not after.has("router_queue_depth")
    assert not after.has("router_queue_oldest_age_seconds")
    assert after.value("router_circuit_state", name="server") == 0


async def test_the_queue_gauges_show_the_messages_waiting(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    # A webhook router with no worker on its queue: the messages wait in the store.
    settings = make_settings(
        database_url=database_url,
        queue_url=await fresh_redis(),
        router_process_jobs=False,
        router_metrics_cache_seconds=0,
    )
    async with running_router(settings) as router:
        empty = await scrape(router.client)
        for n in range(3):
            body, headers = signed(APP_SECRET, text_message(f"wamid.wait.{n}", "hi"))
            await router.client.post("/webhook", content=body, headers=headers)
        waiting = await scrape(router.client)

    assert empty.value("router_queue_depth") == 0
    assert empty.value("router_queue_oldest_age_seconds") == 0
    assert waiting.value("router_queue_depth") == 3
    assert 0 < waiting.value("router_queue_oldest_age_seconds") < 30


async def test_the_cost_counters_move_with_the_work(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    """Each reply: a Server call and a Graph API send, statements and commits, log lines."""
    async with running_router(make_settings(database_url=database_url)) as router:
        before = await scrape(router.client)
        for n in range(3):
            body, headers = signed(APP_SECRET, text_message(f"wamid.cost.{n}", "hi"))
            response = await router.client.post("/webhook", content=body, headers=headers)
            assert response.status_code == 200
        await router.settle()
        after = await scrape(router.client)

    moved = {
        name: after.value(name) - before.value(name)
        for name in (
            "router_http_client_requests_total",
            "router_db_statements_total",
            "router_db_commits_total",
            "router_log_lines_total",
        )
    }
    assert server_route.call_count == 3
    assert graph_route.call_count == 3
    assert moved["router_http_client_requests_total"] == 6
    assert moved["router_db_statements_total"] >= 3 * 3  # stored, claimed, replied, at least
    assert 0 < moved["router_db_commits_total"] <= moved["router_db_statements_total"]
    assert moved["router_log_lines_total"] > 0
