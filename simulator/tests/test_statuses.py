"""Status webhooks under load: batched as Meta batches them, each status delivered exactly once."""

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import APP_SECRET, AUTH, SEND_PATH, make_user, user_writes
from tests.receiver import Receiver, serve
from tests.test_webhooks import fixture, send_text, shape, value_of

ORDER = ("sent", "delivered", "read")


async def chatting_users(client: httpx.AsyncClient, count: int) -> list[str]:
    """Users who wrote (the 24 h window is open), every third with the classic contact shape."""
    numbers = [f"1555000{i:04d}" for i in range(count)]
    for i, number in enumerate(numbers):
        await make_user(client, wa_id=number, contact_shape="classic" if i % 3 == 2 else "bsuid")
        await user_writes(client, number)
    return numbers


def status_bodies(receiver: Receiver) -> list[dict[str, Any]]:
    """The bodies that carried statuses, each checked for its signature on the way."""
    bodies = []
    for received in receiver.received:
        body = json.loads(received.body)
        value = body["entry"][0]["changes"][0]["value"]
        if "statuses" in value:
            assert received.signature_ok(APP_SECRET)
            bodies.append(body)
    return bodies


def statuses_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = body["entry"][0]["changes"][0]["value"]["statuses"]
    return found


async def send_all(client: httpx.AsyncClient, numbers: list[str]) -> list[str]:
    """One send to each number, all at once."""
    return list(await asyncio.gather(*(send_text(client, number) for number in numbers)))


async def test_sends_at_once_share_signed_bodies_in_metas_shape(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 12)
    await client.patch("/sim/config", json={"status_batch_window_ms": 300})
    users = {u["wa_id"]: u for u in (await client.get("/sim/users")).json()}

    wamids = await send_all(client, numbers)
    assert (await client.post("/sim/flush")).json() == {"pending": 0}

    bodies = status_bodies(receiver)
    everything = [status for body in bodies for status in statuses_of(body)]
    assert len(everything) == 3 * len(numbers)
    assert len(bodies) < len(everything)
    meta = {status: value_of(fixture(f"status_{status}.json")) for status in ORDER}
    for body in bodies:
        # One entry, one change, several statuses: Meta's shape around a longer list.
        assert body["object"] == "whatsapp_business_account"
        (entry,) = body["entry"]
        (change,) = entry["changes"]
        assert change["field"] == "messages"
        value = change["value"]
        assert set(value) <= set(meta["sent"])
        assert value["metadata"] == meta["sent"]["metadata"]
        for status in value["statuses"]:
            assert shape(status) == shape(meta[status["status"]]["statuses"][0])
        recipients = {status["recipient_id"] for status in value["statuses"]}
        bsuid = sorted(r for r in recipients if users[r]["contact_shape"] == "bsuid")
        # Each BSUID user once, as in Meta's bodies; a body for classic users only has none.
        contacts = value.get("contacts", [])
        assert ("contacts" in value) == bool(bsuid)
        assert sorted(c["wa_id"] for c in contacts) == bsuid
        for contact in contacts:
            assert shape(contact) == shape(meta["sent"]["contacts"][0])
            assert contact["user_id"] == users[contact["wa_id"]]["user_id"]
    assert Counter((s["id"], s["status"]) for s in everything) == {
        (wamid, status): 1 for wamid in wamids for status in ORDER
    }
    for wamid in wamids:
        mine = [s["status"] for s in everything if s["id"] == wamid]
        assert mine == list(ORDER)


async def test_deliveries_record_every_status_of_a_batched_body(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 6)
    await client.patch("/sim/config", json={"status_batch_window_ms": 300})

    wamids = await send_all(client, numbers)
    await client.post("/sim/flush")

    deliveries = (await client.get("/sim/deliveries", params={"kind": "status"})).json()
    assert len(deliveries) == len(status_bodies(receiver)) < 3 * len(numbers)
    for delivery in deliveries:
        assert delivery["state"] == "delivered"
        body = json.loads(delivery["body"])
        assert delivery["wamids"] == list(dict.fromkeys(s["id"] for s in statuses_of(body)))
    for wamid in wamids:
        mine = (await client.get("/sim/deliveries", params={"wamid": wamid})).json()
        assert len(mine) == 3
        message = (await client.get(f"/sim/messages/{wamid}")).json()
        assert message["status"] == "read"
        assert [h["status"] for h in message["history"]] == list(ORDER)


async def test_a_body_holds_at_most_status_batch_max(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 10)
    await client.patch("/sim/config", json={"status_batch_window_ms": 300, "status_batch_max": 4})

    await send_all(client, numbers)
    await client.post("/sim/flush")

    sizes = [len(statuses_of(body)) for body in status_bodies(receiver)]
    assert sum(sizes) == 30
    assert max(sizes) == 4


async def test_status_batch_max_1_sends_one_status_per_body(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 6)
    await client.patch("/sim/config", json={"status_batch_window_ms": 300, "status_batch_max": 1})

    await send_all(client, numbers)
    await client.post("/sim/flush")

    assert [len(statuses_of(body)) for body in status_bodies(receiver)] == [1] * 18


async def test_a_lone_send_gets_one_status_per_body(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    (number,) = await chatting_users(client, 1)

    await send_text(client, number)
    await client.post("/sim/flush")

    bodies = status_bodies(receiver)
    assert [[s["status"] for s in statuses_of(body)] for body in bodies] == [[s] for s in ORDER]


@pytest.mark.parametrize(("window_ms", "batch_max"), [(0, 100), (5, 3), (300, 100)])
async def test_every_status_is_delivered_exactly_once(
    client: httpx.AsyncClient, receiver: Receiver, window_ms: int, batch_max: int
) -> None:
    numbers = await chatting_users(client, 8)
    config = {"status_batch_window_ms": window_ms, "status_batch_max": batch_max}
    await client.patch("/sim/config", json=config)

    wamids = await send_all(client, numbers * 2)
    await client.post("/sim/flush")

    everything = [s for body in status_bodies(receiver) for s in statuses_of(body)]
    assert Counter((s["id"], s["status"]) for s in everything) == {
        (wamid, status): 1 for wamid in wamids for status in ORDER
    }
    assert all(len(statuses_of(body)) <= batch_max for body in status_bodies(receiver))


async def test_faults_apply_to_batched_bodies_whole(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 5)
    await client.patch(
        "/sim/config", json={"status_batch_window_ms": 300, "webhook_duplicate_rate": 1.0}
    )
    await send_all(client, numbers)
    await client.post("/sim/flush")

    deliveries = (await client.get("/sim/deliveries", params={"kind": "status"})).json()
    firsts = [d for d in deliveries if d["duplicate_of"] is None]
    copies = {d["duplicate_of"]: d for d in deliveries if d["duplicate_of"] is not None}
    assert len(firsts) < 15
    assert all(copies[d["id"]]["body"] == d["body"] for d in firsts)

    await client.patch(
        "/sim/config",
        json={
            "webhook_duplicate_rate": 0.0,
            "webhook_drop_rate": 1.0,
            "statuses_out_of_order": True,
        },
    )
    before = len(receiver.received)
    wamids = await send_all(client, numbers)
    assert (await client.post("/sim/flush")).json() == {"pending": 0}

    assert len(receiver.received) == before
    dropped = [
        d
        for d in (await client.get("/sim/deliveries", params={"kind": "status"})).json()
        if d["state"] == "dropped"
    ]
    assert len(dropped) < 15
    assert sorted(w for d in dropped for w in d["wamids"]) == sorted(wamids * 3)
    for wamid in wamids:
        # Dropped on the way, yet each status happened on the phone, out of order as asked.
        history = (await client.get(f"/sim/messages/{wamid}")).json()["history"]
        assert [h["status"] for h in history] == ["read", "delivered", "sent"]


async def test_a_refused_batched_body_is_retried_whole(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 4)
    await client.patch("/sim/config", json={"status_batch_window_ms": 300})
    receiver.plan.append(500)

    await send_all(client, numbers)
    await client.post("/sim/flush")

    deliveries = (await client.get("/sim/deliveries", params={"kind": "status"})).json()
    retried = [d for d in deliveries if len(d["attempts"]) > 1]
    assert [[a["status_code"] for a in d["attempts"]] for d in retried] == [[500, 200]]
    bodies = [r.body for r in receiver.received if r.body.decode() == retried[0]["body"]]
    assert len(bodies) == 2
    assert len(json.loads(bodies[0])["entry"][0]["changes"][0]["value"]["statuses"]) > 1


async def test_reset_forgets_scheduled_statuses(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    numbers = await chatting_users(client, 3)
    await client.patch("/sim/config", json={"sent_delay_ms": 300})
    await send_all(client, numbers)

    await client.post("/sim/reset")
    # A message sent after the reset, its statuses as slow: the forgotten ones were due first, so
    # they would be out before this one's are.
    await client.patch("/sim/config", json={"sent_delay_ms": 300})
    [number] = await chatting_users(client, 1)
    wamid = await send_text(client, number)
    assert (await client.post("/sim/flush", params={"seconds": 5})).json() == {"pending": 0}

    statuses = [status for body in status_bodies(receiver) for status in statuses_of(body)]
    assert [(s["id"], s["status"]) for s in statuses] == [(wamid, status) for status in ORDER]


async def test_the_chat_pages_stream_gets_every_status_of_a_batched_body(
    settings_env: None, receiver: Receiver
) -> None:
    from app.main import create_app

    async with serve(create_app()) as url, httpx.AsyncClient(base_url=url) as client:
        numbers = await chatting_users(client, 5)
        await client.patch("/sim/config", json={"status_batch_window_ms": 300})
        seen: Counter[str] = Counter()
        async with client.stream("GET", "/sim/events") as events:
            lines = events.aiter_lines()
            assert await anext(lines) == "retry: 1000"
            wamids = await send_all(client, numbers)
            event = ""
            async with asyncio.timeout(10):
                async for line in lines:
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "status":
                        data = json.loads(line.removeprefix("data: "))
                        seen[data["wamid"]] += data["status"] == "read"
                        if all(seen[wamid] for wamid in wamids):
                            break
        assert len(status_bodies(receiver)) < 3 * len(numbers)


async def test_every_status_of_a_message_sent_with_callback_data_echoes_it(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    (number,) = await chatting_users(client, 1)
    payload = {
        "messaging_product": "whatsapp",
        "to": number,
        "type": "text",
        "text": {"body": "Hi"},
        "biz_opaque_callback_data": "41.0.5f3a9c",
    }
    sent = await client.post(SEND_PATH, json=payload, headers=AUTH)
    tracked = sent.json()["messages"][0]["id"]
    untracked = await send_text(client, number)
    await client.post("/sim/flush")

    everything = [s for body in status_bodies(receiver) for s in statuses_of(body)]
    echoed = [s for s in everything if s["id"] == tracked]
    assert [s["status"] for s in echoed] == list(ORDER)
    for status in echoed:
        assert status["biz_opaque_callback_data"] == "41.0.5f3a9c"
        # Where Meta's reference puts it: after the recipient, before the conversation.
        keys = list(status)
        assert keys.index("recipient_id") < keys.index("biz_opaque_callback_data")
        assert keys.index("biz_opaque_callback_data") < keys.index("conversation")
    assert all("biz_opaque_callback_data" not in s for s in everything if s["id"] == untracked)
    recorded = (await client.get(f"/sim/messages/{tracked}")).json()
    assert recorded["biz_opaque_callback_data"] == "41.0.5f3a9c"
