"""Meta's side of the webhook: signed bodies in the fixtures' shape, statuses, retries, faults."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import APP_SECRET, AUTH, SEND_PATH, make_user, user_writes
from tests.receiver import Receiver

# Meta's real webhook bodies, kept once in the repo (the router's tests use them too).
FIXTURES = Path(__file__).resolve().parents[2] / "router" / "tests" / "fixtures" / "meta"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what must match between our bodies and Meta's."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def value_of(body: Any, entry: int = 0, change: int = 0) -> Any:
    return body["entry"][entry]["changes"][change]["value"]


def statuses(receiver: Receiver) -> list[dict[str, Any]]:
    found = []
    for raw in receiver.bodies():
        for entry in json.loads(raw)["entry"]:
            for change in entry["changes"]:
                found.extend(change["value"].get("statuses", []))
    return found


async def send_text(client: httpx.AsyncClient, to: str) -> str:
    payload = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "Hi"}}
    response = await client.post(SEND_PATH, json=payload, headers=AUTH)
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def test_inbound_text_is_signed_over_the_exact_bytes_in_the_fixture_shape(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    user = await make_user(client, name="Simulated User", wa_id="972987654321")

    result = await user_writes(client, "972987654321", text="Hello there")

    (received,) = receiver.received
    assert received.signature_ok(APP_SECRET)
    assert received.headers["content-type"] == "application/json"
    body = json.loads(received.body)
    assert shape(body) == shape(fixture("message_text.json"))
    value = value_of(body)
    assert value["metadata"] == {
        "display_phone_number": "972123456789",
        "phone_number_id": "1122334455667",
    }
    assert value["contacts"] == [
        {
            "profile": {"name": "Simulated User"},
            "wa_id": "972987654321",
            "user_id": user["user_id"],
            "parent_user_id": user["parent_user_id"],
        }
    ]
    message = value["messages"][0]
    assert message["text"] == {"body": "Hello there"}
    assert message["id"].startswith("wamid.")
    assert result["messages"][0]["wamid"] == message["id"]
    assert result["messages"][0]["status"] == "delivered"
    assert str(user["user_id"]).startswith("US.")


async def test_bodies_are_serialised_like_metas(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321", name="Café Customer")

    await user_writes(client, "972987654321", type="document", text="a/b")

    raw = receiver.received[0].body
    assert b"\\/" in raw
    assert b"Caf\\u00e9" in raw
    assert b": " not in raw


async def test_classic_contact_shape_per_user_and_per_message(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321", contact_shape="classic")
    await make_user(client, wa_id="15550002222")

    await user_writes(client, "972987654321")
    await user_writes(client, "15550002222", contact_shape="classic")
    await user_writes(client, "15550002222")

    classic = shape(fixture("message_text_classic_no_user_id.json"))
    bodies = [json.loads(raw) for raw in receiver.bodies()]
    assert shape(bodies[0]) == classic
    assert shape(bodies[1]) == classic
    assert shape(bodies[2]) == shape(fixture("message_text.json"))


@pytest.mark.parametrize(
    ("kind", "text", "name"),
    [
        ("image", None, "message_image.json"),
        ("video", "caption", "message_video_with_context.json"),
        ("audio", None, "message_voice.json"),
        ("document", "caption", "message_document_with_context.json"),
        ("sticker", None, "message_sticker.json"),
        ("location", None, "message_location.json"),
        ("contacts", None, "message_contacts.json"),
        ("reaction", None, "message_reaction.json"),
        ("interactive", "Yes", "interactive_button_reply.json"),
        ("button", "Yes", "template_quick_reply_button.json"),
    ],
)
async def test_every_inbound_type_has_the_fixture_shape(
    client: httpx.AsyncClient, receiver: Receiver, kind: str, text: str | None, name: str
) -> None:
    await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")
    await send_text(client, "972987654321")  # something to react to and reply to

    await user_writes(client, "972987654321", type=kind, text=text)

    message = value_of(json.loads(receiver.received[1].body))["messages"][0]
    expected = value_of(fixture(name))["messages"][0]
    if kind not in ("interactive", "button"):
        expected.pop("context", None)  # those fixtures were forwarded; ours are not
    assert shape(message) == shape(expected)
    if kind == "reaction":
        assert message["reaction"]["message_id"].startswith("wamid.")


async def test_interactive_list_reply_through_content(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")
    content = {"type": "list_reply", "list_reply": {"id": "row-1", "title": "First"}}

    await user_writes(
        client, "972987654321", type="interactive", content=content, context_id="wamid.q"
    )

    message = value_of(json.loads(receiver.received[0].body))["messages"][0]
    expected = value_of(fixture("interactive_list_reply.json"))["messages"][0]
    assert shape(message) == shape(expected)
    assert message["interactive"]["list_reply"] == {"id": "row-1", "title": "First"}


async def test_statuses_flow_sent_delivered_read_in_the_fixture_shape(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")

    wamid = await send_text(client, "972987654321")
    assert (await client.post("/sim/flush")).json() == {"pending": 0}

    status_bodies = [json.loads(r.body) for r in receiver.received[1:]]
    assert all(r.signature_ok(APP_SECRET) for r in receiver.received)
    assert [value_of(b)["statuses"][0]["status"] for b in status_bodies] == [
        "sent",
        "delivered",
        "read",
    ]
    for body, name in zip(
        status_bodies,
        ["status_sent.json", "status_delivered.json", "status_read.json"],
        strict=True,
    ):
        assert shape(body) == shape(fixture(name))
        assert value_of(body)["statuses"][0]["id"] == wamid
        assert value_of(body)["statuses"][0]["recipient_id"] == "972987654321"
    message = (await client.get(f"/sim/messages/{wamid}")).json()
    assert message["status"] == "read"
    assert [h["status"] for h in message["history"]] == ["sent", "delivered", "read"]


async def test_a_user_who_does_not_read_gets_no_read_status(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321", reads=False)
    await user_writes(client, "972987654321")

    await send_text(client, "972987654321")
    await client.post("/sim/flush")

    assert [s["status"] for s in statuses(receiver)] == ["sent", "delivered"]


async def test_statuses_out_of_order(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await client.patch("/sim/config", json={"statuses_out_of_order": True})
    await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")

    wamid = await send_text(client, "972987654321")
    await client.post("/sim/flush")

    assert [s["status"] for s in statuses(receiver)] == ["read", "delivered", "sent"]
    assert (await client.get(f"/sim/messages/{wamid}")).json()["status"] == "read"


async def test_classic_user_statuses_carry_no_contacts(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321", contact_shape="classic")
    await user_writes(client, "972987654321")

    await send_text(client, "972987654321")
    await client.post("/sim/flush")

    for raw in receiver.bodies()[1:]:
        assert "contacts" not in value_of(json.loads(raw))


async def test_failed_deliveries_are_retried_until_the_router_answers(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")
    receiver.plan.extend([500, 503])

    result = await user_writes(client, "972987654321")

    (delivery,) = result["deliveries"]
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert len(set(receiver.bodies())) == 1
    assert all(r.signature_ok(APP_SECRET) for r in receiver.received)


async def test_retries_are_bounded(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await make_user(client, wa_id="972987654321")
    receiver.plan.extend([500] * 10)

    result = await user_writes(client, "972987654321")

    (delivery,) = result["deliveries"]
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 4
    assert len(receiver.received) == 4
    assert result["messages"][0]["status"] == "failed"


async def test_connection_errors_are_retried_and_recorded(client: httpx.AsyncClient) -> None:
    await client.patch("/sim/config", json={"webhook_url": "http://127.0.0.1:9/webhook"})
    await make_user(client, wa_id="972987654321")

    result = await user_writes(client, "972987654321")

    (delivery,) = result["deliveries"]
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 4
    assert all(a["error"] and a["status_code"] is None for a in delivery["attempts"])


@pytest.mark.parametrize("duplicate", ["same_bytes", "reserialized", "both"])
async def test_duplicate_deliveries(
    client: httpx.AsyncClient, receiver: Receiver, duplicate: str
) -> None:
    await make_user(client, wa_id="972987654321")

    result = await user_writes(client, "972987654321", duplicate=duplicate)

    count = 3 if duplicate == "both" else 2
    assert len(receiver.received) == count
    assert all(r.signature_ok(APP_SECRET) for r in receiver.received)
    parsed = [json.loads(raw) for raw in receiver.bodies()]
    assert all(p == parsed[0] for p in parsed)
    first, *copies = receiver.bodies()
    if duplicate == "same_bytes":
        assert copies == [first]
    else:
        assert copies[-1] != first
    assert [d["duplicate_of"] for d in result["deliveries"][1:]] == [
        result["deliveries"][0]["id"]
    ] * (count - 1)


async def test_duplicate_and_drop_faults_apply_to_statuses(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")
    await client.patch("/sim/config", json={"webhook_duplicate_rate": 1.0})
    await send_text(client, "972987654321")
    await client.post("/sim/flush")
    assert [s["status"] for s in statuses(receiver)] == [
        "sent",
        "sent",
        "delivered",
        "delivered",
        "read",
        "read",
    ]

    await client.patch(
        "/sim/config", json={"webhook_duplicate_rate": 0.0, "webhook_drop_rate": 1.0}
    )
    before = len(receiver.received)
    wamid = await send_text(client, "972987654321")
    await client.post("/sim/flush")

    assert len(receiver.received) == before
    dropped = (await client.get("/sim/deliveries", params={"wamid": wamid})).json()
    assert [d["state"] for d in dropped] == ["dropped"] * 3


async def test_batch_in_one_change(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await make_user(client, wa_id="972987654321")
    await make_user(client, wa_id="15550002222", contact_shape="classic")
    batch = {
        "messages": [
            {"wa_id": "972987654321", "text": "one"},
            {"wa_id": "15550002222", "text": "two"},
            {"wa_id": "972987654321", "type": "location"},
        ]
    }

    response = await client.post("/sim/webhooks/batch", json=batch)

    assert response.status_code == 200, response.text
    (received,) = receiver.received
    body = json.loads(received.body)
    assert len(body["entry"]) == 1
    assert len(body["entry"][0]["changes"]) == 1
    value = value_of(body)
    assert [m["from"] for m in value["messages"]] == ["972987654321", "15550002222", "972987654321"]
    assert [c["wa_id"] for c in value["contacts"]] == ["972987654321", "15550002222"]
    assert "user_id" in value["contacts"][0]
    assert "user_id" not in value["contacts"][1]
    assert len({m["id"] for m in value["messages"]}) == 3


@pytest.mark.parametrize(("layout", "entries", "changes"), [("changes", 1, 2), ("entries", 2, 1)])
async def test_batch_across_changes_and_entries(
    client: httpx.AsyncClient, receiver: Receiver, layout: str, entries: int, changes: int
) -> None:
    await make_user(client, wa_id="972987654321")
    batch = {"layout": layout, "messages": [{"wa_id": "972987654321", "text": t} for t in "ab"]}

    await client.post("/sim/webhooks/batch", json=batch)

    body = json.loads(receiver.received[0].body)
    assert len(body["entry"]) == entries
    assert all(len(e["changes"]) == changes for e in body["entry"])
    texts = [
        m["text"]["body"]
        for e in body["entry"]
        for c in e["changes"]
        for m in c["value"]["messages"]
    ]
    assert texts == ["a", "b"]


async def test_verification_handshake(client: httpx.AsyncClient, receiver: Receiver) -> None:
    good = (await client.post("/sim/webhooks/verify", json={"challenge": "1158201444"})).json()
    bad = (await client.post("/sim/webhooks/verify", json={"verify_token": "nope"})).json()

    assert good == {
        "url": receiver.url,
        "status_code": 200,
        "body": "1158201444",
        "challenge": "1158201444",
        "echoed": True,
        "error": None,
    }
    assert bad["status_code"] == 403
    assert bad["echoed"] is False


async def test_raw_delivery_with_a_chosen_signature(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await client.post(
        "/sim/webhooks/raw", json={"body": {"object": "x"}, "signature": "sha256=00"}
    )

    assert response.json()["state"] == "delivered"
    assert receiver.received[0].body == b'{"object":"x"}'
    assert receiver.received[0].headers["x-hub-signature-256"] == "sha256=00"


async def test_reset_forgets_everything(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")

    await client.post("/sim/reset")

    assert (await client.get("/sim/users")).json() == []
    assert (await client.get("/sim/messages")).json() == []
    assert (await client.get("/sim/deliveries")).json() == []
