"""Never lose or duplicate a message: on every store and queue backend."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from app.core.clock import utcnow

from ..backends import fresh_rabbitmq, migrated_postgres, rabbitmq_ready_messages, tcp_proxy
from ..conftest import (
    APP_SECRET,
    SERVER_URL,
    RouterUnderTest,
    fresh_queue,
    make_settings,
    running_router,
)
from ..graph_api import STALL, GraphApi, Stall, accepted, meta_error
from ..meta import fixture, parsed_text, signed, text_message


async def post(router: RouterUnderTest, payload: Any) -> httpx.Response:
    body, headers = signed(APP_SECRET, payload)
    return await router.client.post("/webhook", content=body, headers=headers)


def status_of(wamid: str, fixture_name: str) -> dict[str, Any]:
    """A status fixture about the message `wamid`."""
    body = fixture(fixture_name)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return body


async def messages(router: RouterUnderTest, **params: Any) -> list[dict[str, Any]]:
    response = await router.admin("GET", "/api/v1/messages", params=params)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_redelivery_after_a_restart_gets_no_second_reply(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    body = text_message("wamid.restart", "hello")
    async with running_router(make_settings(**backends)) as router:
        await post(router, body)
        await router.settle()
    async with running_router(make_settings(**backends)) as router:
        again = await post(router, body)
        await router.settle()

    assert again.json()["duplicates"] == 1
    assert graph_route.call_count == 1


async def test_concurrent_redeliveries_get_one_reply(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(**backends)) as router:
        body = text_message("wamid.race", "hi")
        responses = await asyncio.gather(*(post(router, body) for _ in range(8)))
        await router.settle()

    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["messages"] for r in responses) == 1
    assert graph_route.call_count == 1


@pytest.mark.parametrize("queue", ["redis", "rabbitmq"])
async def test_a_job_that_outlasts_its_lease_is_not_taken_over_and_sends_once(
    queue: str, database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    """The Graph API takes three leases to accept the send, while the sweep looks for messages
    whose lease ran out every 0.2 s. The job still at it keeps its lease: no second worker takes
    the message over, finds the send started and sends it again (a shared queue, where this
    process cannot tell a job waiting from one running)."""
    settings = make_settings(
        database_url=database_url, router_resend_wait_seconds=0.5, **await fresh_queue(queue)
    )
    slow = 3 * settings.router_lease_seconds

    async def accept_late(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(slow)
        return accepted("wamid.late")

    graph_route.mock(side_effect=accept_late)
    async with running_router(settings) as router:
        await post(router, text_message("wamid.slow", "hi"))
        await router.settle(timeout=slow + 10)
        stored = await messages(router, direction="inbound")

    assert graph_route.call_count == 1
    assert server_route.call_count == 1
    assert stored[0]["status"] == "replied"


async def test_keeping_leases_lengthens_held_ones_alone(
    stores: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(**stores)) as router:
        await router.state.sweeper.stop()
        leases, reads = router.repository.leases, router.repository.reads
        short, long, unclaimed = await router.repository.inbound.store_webhook(
            [parsed_text(f"wamid.keep{i}", wa_id=f"1555091000{i}") for i in range(3)], [], "r"
        )
        for message_id, seconds in ((short, 1), (long, 600)):
            assert await leases.claim(message_id, lease_seconds=seconds) is not None

        async def lease_of(message_id: int) -> datetime | None:
            message = await reads.get(message_id)
            assert message is not None
            return message.lease_until

        long_until = await lease_of(long)
        await leases.keep([short, long, unclaimed], 300)
        now = utcnow()

        kept = await lease_of(short)
        assert kept is not None
        assert now + timedelta(seconds=290) < kept
        assert await lease_of(long) == long_until  # a longer lease is not shortened
        assert await lease_of(unclaimed) is None  # not held: nothing to keep


async def test_the_server_down_then_up_gives_one_reply(
    backends: dict[str, str], mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    process = mock_http.post(f"{SERVER_URL}/process").mock(
        side_effect=[
            httpx.ConnectError("down"),
            httpx.Response(503),
            httpx.Response(200, json={"original": "hi", "reply": "back again"}),
        ]
    )
    async with running_router(make_settings(**backends)) as router:
        await post(router, text_message("wamid.flaky", "hi"))
        await router.settle()
        stored = await messages(router, direction="inbound")

    assert process.call_count == 3
    assert [json.loads(c.request.content)["text"]["body"] for c in graph_route.calls] == [
        "back again"
    ]
    assert stored[0]["status"] == "replied"
    assert stored[0]["attempts"] == 3


@pytest.mark.parametrize(
    "transient",
    [
        httpx.Response(500),
        meta_error(429, 130429, "Rate limit hit"),
        meta_error(400, 131056, "Pair rate limit hit"),
        STALL,
    ],
    ids=["5xx", "130429", "131056", "timeout"],
)
async def test_transient_graph_errors_are_retried_to_one_reply(
    graph_route: GraphApi,
    server_route: respx.Route,
    database_url: str,
    transient: httpx.Response | Stall,
) -> None:
    send = graph_route.mock(side_effect=[transient, transient, accepted("wamid.out.ok")])
    settings = make_settings(database_url=database_url, whatsapp_send_timeout_seconds=1)
    async with running_router(settings) as router:
        await post(router, text_message("wamid.in.flaky", "hi"))
        await router.settle()
        outbound = await messages(router, direction="outbound")

    assert send.call_count == 3
    assert [(m["wamid"], m["status"]) for m in outbound] == [("wamid.out.ok", "accepted")]


async def test_a_permanent_error_fails_without_retry_and_replays(
    backends: dict[str, str], graph_route: GraphApi, server_route: respx.Route
) -> None:
    send = graph_route.mock(
        side_effect=[
            meta_error(400, 131047, "Re-engagement message"),
            accepted("wamid.out.replayed"),
        ]
    )
    async with running_router(make_settings(**backends)) as router:
        await post(router, text_message("wamid.in.late", "hi"))
        await router.settle()
        dead = await messages(router, status="failed")

        assert send.call_count == 1
        assert {(m["direction"], m["error_code"], m["error_title"]) for m in dead} == {
            ("inbound", 131047, "Re-engagement message"),
            ("outbound", 131047, "Re-engagement message"),
        }
        inbound = next(m for m in dead if m["direction"] == "inbound")

        replay = await router.admin("POST", f"/api/v1/messages/{inbound['id']}/retry")
        await router.settle()
        after = await messages(router)

    assert replay.status_code == 202
    assert send.call_count == 2
    assert {(m["direction"], m["status"]) for m in after} == {
        ("inbound", "replied"),
        ("outbound", "accepted"),
    }
    # The replay resent the reply that was stored, it did not ask the Server again.
    assert server_route.call_count == 1


async def test_ordering_one_contacts_messages_are_answered_in_arrival_order(
    backends: dict[str, str], mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    async def slow_first(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["text"]
        if text == "first":
            await asyncio.sleep(0.3)
        return httpx.Response(200, json={"original": text, "reply": f"re: {text}"})

    mock_http.post(f"{SERVER_URL}/process").mock(side_effect=slow_first)
    async with running_router(make_settings(**backends)) as router:
        await post(router, text_message("wamid.o1", "first"))
        await post(router, text_message("wamid.o2", "second"))
        await post(router, text_message("wamid.o3", "third"))
        await router.settle()

    bodies = [json.loads(c.request.content)["text"]["body"] for c in graph_route.calls]
    assert bodies == ["re: first", "re: second", "re: third"]


async def test_statuses_never_move_a_message_backwards(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(**backends)) as router:
        await post(router, text_message("wamid.in.s", "hi"))
        await router.settle()
        [outbound] = await messages(router, direction="outbound")

        seen = []
        for name in ["read", "sent", "delivered", "failed_130472", "read"]:
            await post(router, status_of(outbound["wamid"], f"status_{name}"))
            [now] = await messages(router, direction="outbound")
            seen.append(now["status"])

    assert seen == ["read", "read", "read", "read", "read"]


async def test_failed_status_is_kept_with_metas_error_and_statuses_move_forward(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(**backends)) as router:
        await post(router, text_message("wamid.in.f", "hi"))
        await router.settle()
        [outbound] = await messages(router, direction="outbound")

        seen = []
        for name in ["status_sent", "status_sent", "status_delivered", "status_failed_130472"]:
            await post(router, status_of(outbound["wamid"], name))
            [now] = await messages(router, direction="outbound")
            seen.append(now["status"])

    assert seen == ["sent", "sent", "delivered", "failed"]
    assert now["error_code"] == 130472


async def test_a_status_that_arrives_before_the_send_returns_is_applied(
    database_url: str, graph_route: GraphApi, server_route: respx.Route
) -> None:
    holder: dict[str, RouterUnderTest] = {}

    async def answers_after_the_status(request: httpx.Request) -> httpx.Response:
        # Meta's status webhook can overtake the Graph API's answer.
        await post(holder["router"], status_of("wamid.out.early", "status_delivered"))
        return accepted("wamid.out.early")

    graph_route.mock(side_effect=answers_after_the_status)
    async with running_router(make_settings(database_url=database_url)) as router:
        holder["router"] = router
        await post(router, text_message("wamid.in.early", "hi"))
        await router.settle()
        [outbound] = await messages(router, direction="outbound")

    assert outbound["status"] == "delivered"


async def test_unfinished_work_in_the_store_resumes_at_start(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    # Messages accepted by a router that died before queueing them: only the store has them.
    async with running_router(make_settings(**backends)) as router:
        await router.state.sweeper.stop()
        repository = router.repository
        pending = [
            parsed_text(f"wamid.orphan{i}", f"orphan {i}", wa_id=f"1555090000{i}") for i in range(3)
        ]
        await repository.inbound.store_webhook(pending, [], "before-the-crash")
        # And one claimed by a worker that then died: its lease is still running.
        [claimed_id] = await repository.inbound.store_webhook(
            [parsed_text("wamid.claimed", "claimed", wa_id="15550909999")],
            [],
            "before-the-crash",
        )
        assert await repository.leases.claim(claimed_id, lease_seconds=0.5) is not None
        assert graph_route.call_count == 0

    async with running_router(make_settings(**backends, router_sweep_seconds=0.1)) as router:
        await router.settle()

    recipients = sorted(json.loads(c.request.content)["to"] for c in graph_route.calls)
    assert recipients == ["15550900000", "15550900001", "15550900002", "15550909999"]


async def test_the_circuit_breaker_stops_calling_a_dead_server(
    mock_http: respx.MockRouter, graph_route: GraphApi, database_url: str
) -> None:
    process = mock_http.post(f"{SERVER_URL}/process").mock(side_effect=httpx.ConnectError("down"))
    settings = make_settings(
        database_url=database_url,
        router_breaker_threshold=2,
        router_breaker_ttl_seconds=60,
        router_retry_max_attempts=6,
    )
    async with running_router(settings) as router:
        await post(router, text_message("wamid.cb", "hi"))
        await router.settle()
        [failed] = await messages(router, status="failed")

    # Two real calls open the circuit; the other four attempts fail fast without a request.
    assert process.call_count == 2
    assert "circuit is open" in failed["error_title"]
    assert not graph_route.called


async def test_the_management_api_needs_the_admin_key(
    router: RouterUnderTest, database_url: str
) -> None:
    missing = await router.client.get("/api/v1/messages")
    wrong = await router.client.get("/api/v1/messages", headers={"X-API-Key": "nope"})
    right = await router.admin("GET", "/api/v1/messages")
    unknown = await router.admin("POST", "/api/v1/messages/999/retry")

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert unknown.status_code == 404

    async with running_router(
        make_settings(database_url=database_url, router_admin_api_key=None)
    ) as unconfigured:
        off = await unconfigured.client.get("/api/v1/messages", headers={"X-API-Key": "x"})
    assert off.status_code == 503


async def test_stats_count_messages_by_direction_and_status(router: RouterUnderTest) -> None:
    await post(router, fixture("message_text"))
    image = fixture("message_image")
    image["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.image"
    await post(router, image)
    await router.settle()

    stats = (await router.admin("GET", "/api/v1/messages/stats")).json()

    assert stats == {"inbound": {"replied": 1, "ignored": 1}, "outbound": {"accepted": 1}}


async def test_a_replay_while_the_queue_is_down_is_accepted_and_left_to_the_sweep(
    database_url: str, graph_route: GraphApi, server_route: respx.Route
) -> None:
    graph_route.mock(side_effect=[meta_error(400, 131047, "Re-engagement message")])
    shared = await fresh_rabbitmq()
    async with tcp_proxy(shared["queue_url"], 5672) as proxy:
        settings = make_settings(database_url=database_url, **{**shared, "queue_url": proxy.url})
        async with running_router(settings) as router:
            await post(router, text_message("wamid.in.late", "hi"))
            await router.settle()
            [failed] = await messages(router, direction="inbound", status="failed")
            await proxy.cut()

            replay = await router.admin("POST", f"/api/v1/messages/{failed['id']}/retry")
            reopened = await messages(router, direction="inbound")

    # Stored as reopened: the sweep queues it once the queue is back (it was a 500 before).
    assert replay.status_code == 202, replay.text
    assert [m["status"] for m in reopened] == ["received"]


async def test_only_failed_messages_are_replayed(router: RouterUnderTest) -> None:
    await post(router, fixture("message_text"))
    await router.settle()
    [inbound] = await messages(router, direction="inbound")

    response = await router.admin("POST", f"/api/v1/messages/{inbound['id']}/retry")

    assert response.status_code == 409


@pytest.mark.parametrize("queue", ["redis", "rabbitmq"])
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_webhook_only_routers_leave_the_jobs_to_worker_processes(
    store: str,
    queue: str,
    database_url: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> None:
    shared = {
        "database_url": await migrated_postgres() if store == "postgresql" else database_url,
        **await fresh_queue(queue),
    }
    # The webhook router gets a Server and a Graph API of its own: had it run the job, it would
    # have asked that Server for the reply.
    elsewhere = {
        "server_base_url": "http://server.web.test",
        "whatsapp_graph_api_url": "http://graph.web.test",
    }
    web_calls = mock_http.route(host__regex=r"^(server|graph)\.web\.test$").respond(500)
    async with running_router(
        make_settings(**shared, **elsewhere, router_process_jobs=False)
    ) as web:
        response = await post(web, text_message("wamid.split", "hi"))
        if queue == "rabbitmq":
            # The job waits in RabbitMQ, not taken by the webhook router.
            async with asyncio.timeout(5):
                while await rabbitmq_ready_messages(shared) != 1:
                    await asyncio.sleep(0.02)
        assert response.status_code == 200

        async with running_router(make_settings(**shared)) as worker:
            await worker.settle()  # until the message is finished, in the store both share

        [inbound] = await messages(web, direction="inbound")

    assert inbound["status"] == "replied"
    assert graph_route.call_count == 1
    assert not web_calls.called  # the worker ran the job, nothing in the webhook router did


def test_a_webhook_only_router_needs_a_shared_queue() -> None:
    with pytest.raises(ValueError, match=r"QUEUE_URL=redis://\.\.\. or amqp://"):
        make_settings(router_process_jobs=False, queue_url="memory://")

    for shared in ("redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672/"):
        assert not make_settings(router_process_jobs=False, queue_url=shared).router_process_jobs
