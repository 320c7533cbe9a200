"""`GET /metrics`: the simulator's requests by route template, the Graph API calls it answered by
Meta's code, and the webhooks it posted by how the Router took them."""

import httpx

from tests.conftest import AUTH, PHONE_ID, SEND_PATH, make_user, user_writes
from tests.receiver import Receiver
from tests.support import scrape
from tests.test_graph import text

USER = "972987654321"


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id=USER)
    await user_writes(client, USER)
    before = await scrape(client, version="")

    assert (await client.post(SEND_PATH, json=text(USER), headers=AUTH)).status_code == 200
    assert (await client.get(f"/sim/users/{USER}")).status_code == 200
    assert (await client.get(f"/v26.0/{PHONE_ID}", headers=AUTH)).status_code == 200
    # No route: Starlette offers the catch-all's "/nothing-here/" instead.
    assert (await client.get("/nothing-here")).status_code == 307
    after = await scrape(client, version="")

    requests = "simulator_requests_total"
    send = {"method": "POST", "route": "/{version}/{phone_id}/messages", "status": "200"}
    assert after.since(before, requests, **send) == 1
    user = {"method": "GET", "route": "/sim/users/{wa_id}", "status": "200"}
    assert after.since(before, requests, **user) == 1
    node = {"method": "GET", "route": "/{version}/{phone_id}", "status": "200"}
    assert after.since(before, requests, **node) == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "307"}
    assert after.since(before, requests, **unmatched) == 1
    timed = {"method": "POST", "route": "/{version}/{phone_id}/messages"}
    assert after.since(before, "simulator_request_seconds_count", **timed) == 1
    scraped = (await client.get("/metrics")).text
    assert USER not in scraped
    assert PHONE_ID not in scraped


async def test_graph_api_answers_are_counted_by_meta_s_code(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id=USER)
    sent = await user_writes(client, USER)
    await make_user(client, wa_id="15550009999")  # never wrote: outside the 24 h window
    before = await scrape(client, version="")

    assert (await client.post(SEND_PATH, json=text(USER), headers=AUTH)).status_code == 200
    await client.post("/sim/faults/fail-next", json={"count": 2, "status": 429, "code": 130429})
    for _ in range(2):
        assert (await client.post(SEND_PATH, json=text(USER), headers=AUTH)).status_code == 429
    refused = await client.post(SEND_PATH, json=text("15550009999"), headers=AUTH)
    assert refused.status_code == 400
    bad_token = {"Authorization": "Bearer nope"}
    assert (await client.post(SEND_PATH, json=text(USER), headers=bad_token)).status_code == 401
    read = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": sent["messages"][0]["wamid"],
    }
    assert (await client.post(SEND_PATH, json=read, headers=AUTH)).status_code == 200
    assert (await client.get(f"/v26.0/{PHONE_ID}", headers=AUTH)).status_code == 200
    assert (await client.get("/v26.0/123/subscribed_apps", headers=AUTH)).status_code == 400
    after = await scrape(client, version="")

    graph = "simulator_graph_requests_total"
    assert after.since(before, graph, operation="send", result="ok") == 1
    assert after.since(before, graph, operation="send", result="130429") == 2
    assert after.since(before, graph, operation="send", result="131047") == 1
    assert after.since(before, graph, operation="send", result="190") == 1
    assert after.since(before, graph, operation="read", result="ok") == 1
    assert after.since(before, graph, operation="phone_number", result="ok") == 1
    assert after.since(before, graph, operation="other", result="100") == 1


async def test_webhooks_are_counted_by_how_the_router_took_them(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id=USER)
    before = await scrape(client, version="")

    await user_writes(client, USER)  # delivered at once
    receiver.plan.extend([500, 503])
    await user_writes(client, USER)  # delivered at the third attempt
    receiver.plan.extend([500] * 4)
    await user_writes(client, USER)  # failed: SIMULATOR_WEBHOOK_ATTEMPTS is 4 in the tests
    await client.patch("/sim/config", json={"webhook_drop_rate": 1.0})
    await user_writes(client, USER)  # dropped: never posted
    after = await scrape(client, version="")

    webhooks = "simulator_webhooks_total"
    assert after.since(before, webhooks, kind="message", state="delivered") == 2
    assert after.since(before, webhooks, kind="message", state="failed") == 1
    assert after.since(before, webhooks, kind="message", state="dropped") == 1
    attempts = "simulator_webhook_attempts_total"
    assert after.since(before, attempts, result="200") == 2
    assert after.since(before, attempts, result="500") == 5
    assert after.since(before, attempts, result="503") == 1
    assert after.since(before, "simulator_webhook_attempt_seconds_count") == 8


async def test_an_unanswered_attempt_is_counted_as_an_error(client: httpx.AsyncClient) -> None:
    await client.patch("/sim/config", json={"webhook_url": "http://127.0.0.1:9/webhook"})
    await make_user(client, wa_id=USER)
    before = await scrape(client, version="")

    await user_writes(client, USER)
    after = await scrape(client, version="")

    assert after.since(before, "simulator_webhook_attempts_total", result="error") == 4
    failed = {"kind": "message", "state": "failed"}
    assert after.since(before, "simulator_webhooks_total", **failed) == 1


async def test_status_webhooks_are_counted_as_delivered(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id=USER)
    await user_writes(client, USER)
    before = await scrape(client, version="")

    await client.post(SEND_PATH, json=text(USER), headers=AUTH)
    assert (await client.post("/sim/flush")).json() == {"pending": 0}
    after = await scrape(client, version="")

    # Statuses due together share a body, so the count is the deliveries the simulator recorded.
    recorded = (await client.get("/sim/deliveries", params={"kind": "status"})).json()
    assert recorded
    assert all(d["state"] == "delivered" for d in recorded)
    status = {"kind": "status", "state": "delivered"}
    assert after.since(before, "simulator_webhooks_total", **status) == len(recorded)
