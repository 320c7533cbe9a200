"""The Graph API side, answered as Meta answers the Router's PyWA client."""

import time
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, PHONE_ID, SEND_PATH, make_user, user_writes


def text(to: str, body: str = "Hello") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body, "preview_url": False},
    }


def assert_meta_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["fbtrace_id"]
    return error


@pytest.fixture
async def chatting(client: httpx.AsyncClient) -> str:
    """A user who has just written, so the 24 h window is open."""
    user = await make_user(client, wa_id="972987654321")
    await user_writes(client, "972987654321")
    return str(user["wa_id"])


async def test_text_send_is_answered_as_meta_does(client: httpx.AsyncClient, chatting: str) -> None:
    response = await client.post(SEND_PATH, json=text(chatting), headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": chatting, "wa_id": chatting}]
    (message,) = body["messages"]
    assert set(message) == {"id"}
    assert message["id"].startswith("wamid.")

    recorded = (await client.get(f"/sim/messages/{message['id']}")).json()
    assert recorded["direction"] == "outbound"
    assert recorded["payload"] == {"body": "Hello", "preview_url": False}


async def test_every_send_gets_a_fresh_wamid(client: httpx.AsyncClient, chatting: str) -> None:
    ids = set()
    for _ in range(5):
        response = await client.post(SEND_PATH, json=text(chatting), headers=AUTH)
        ids.add(response.json()["messages"][0]["id"])

    assert len(ids) == 5


async def test_input_is_echoed_and_wa_id_normalised(
    client: httpx.AsyncClient, chatting: str
) -> None:
    response = await client.post(SEND_PATH, json=text("+972 98-765-4321"), headers=AUTH)

    assert response.json()["contacts"] == [{"input": "+972 98-765-4321", "wa_id": chatting}]


async def test_send_to_a_bsuid_echoes_the_user_id(client: httpx.AsyncClient, chatting: str) -> None:
    user = (await client.get(f"/sim/users/{chatting}")).json()
    payload = text(chatting)
    del payload["to"]
    payload["recipient"] = user["user_id"]

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [
        {"input": user["user_id"], "wa_id": chatting, "user_id": user["user_id"]}
    ]


async def test_a_replaced_bsuid_no_longer_reaches_the_user(
    client: httpx.AsyncClient, chatting: str
) -> None:
    old = (await client.get(f"/sim/users/{chatting}")).json()["user_id"]
    await make_user(client, wa_id=chatting, user_id="US.1234567890")

    def to(user_id: str) -> dict[str, Any]:
        payload = text(chatting)
        del payload["to"]
        return payload | {"recipient": user_id}

    gone = await client.post(SEND_PATH, json=to(old), headers=AUTH)
    new = await client.post(SEND_PATH, json=to("US.1234567890"), headers=AUTH)

    assert_meta_error(gone, 400, 100)
    assert new.status_code == 200, new.text
    assert new.json()["contacts"][0]["wa_id"] == chatting


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_bad_token_is_rejected_with_190(
    client: httpx.AsyncClient, chatting: str, headers: dict[str, str]
) -> None:
    response = await client.post(SEND_PATH, json=text(chatting), headers=headers)

    error = assert_meta_error(response, 401, 190)
    assert error["type"] == "OAuthException"
    assert (await client.get("/sim/messages", params={"direction": "outbound"})).json() == []


async def test_unknown_phone_number_id_is_rejected_with_100_33(
    client: httpx.AsyncClient, chatting: str
) -> None:
    response = await client.post("/v26.0/999/messages", json=text(chatting), headers=AUTH)

    error = assert_meta_error(response, 400, 100)
    assert error["error_subcode"] == 33


@pytest.mark.parametrize("callback_data", ["x" * 513, 12, {"k": "v"}], ids=["long", "int", "obj"])
async def test_callback_data_must_be_a_string_of_at_most_512_characters(
    client: httpx.AsyncClient, chatting: str, callback_data: object
) -> None:
    payload = text(chatting) | {"biz_opaque_callback_data": callback_data}

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    error = assert_meta_error(response, 400, 100)
    assert "biz_opaque_callback_data" in error["error_data"]["details"]
    longest = text(chatting) | {"biz_opaque_callback_data": "x" * 512}
    assert (await client.post(SEND_PATH, json=longest, headers=AUTH)).status_code == 200


async def test_text_over_4096_characters_is_an_invalid_parameter(
    client: httpx.AsyncClient, chatting: str
) -> None:
    response = await client.post(SEND_PATH, json=text(chatting, "x" * 4097), headers=AUTH)

    error = assert_meta_error(response, 400, 100)
    assert "4096" in error["error_data"]["details"]
    exactly = await client.post(SEND_PATH, json=text(chatting, "x" * 4096), headers=AUTH)
    assert exactly.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"text": {"body": ""}},
        {"text": None},
        {"to": None},
        {"type": "hologram"},
        {"messaging_product": None},
        {"type": "image", "image": {"caption": "no id nor link"}},
        {"type": "template", "template": {"name": "hello"}},
    ],
    ids=["empty", "no-text", "no-to", "unknown-type", "no-product", "no-media", "no-language"],
)
async def test_bad_parameters_are_rejected_with_100(
    client: httpx.AsyncClient, chatting: str, change: dict[str, Any]
) -> None:
    payload = text(chatting) | change
    payload = {key: value for key, value in payload.items() if value is not None}

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    error = assert_meta_error(response, 400, 100)
    assert error["error_data"]["details"]


async def test_text_to_a_user_who_never_wrote_is_outside_the_window(
    client: httpx.AsyncClient,
) -> None:
    await make_user(client, wa_id="15550001111")

    response = await client.post(SEND_PATH, json=text("15550001111"), headers=AUTH)

    error = assert_meta_error(response, 400, 131047)
    assert error["message"] == "(#131047) Re-engagement message"


async def test_the_window_flag_closes_an_open_window_and_templates_still_go(
    client: httpx.AsyncClient, chatting: str
) -> None:
    await client.patch(f"/sim/users/{chatting}", json={"outside_window": True})

    refused = await client.post(SEND_PATH, json=text(chatting), headers=AUTH)
    template = {
        "messaging_product": "whatsapp",
        "to": chatting,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    accepted = await client.post(SEND_PATH, json=template, headers=AUTH)

    assert_meta_error(refused, 400, 131047)
    assert accepted.status_code == 200


async def test_forced_failures_hit_exactly_the_next_n_sends(
    client: httpx.AsyncClient, chatting: str
) -> None:
    await client.post("/sim/faults/fail-next", json={"count": 2, "status": 500, "code": 131000})
    await client.post("/sim/faults/fail-next", json={"status": 429, "code": 130429})

    answers = [await client.post(SEND_PATH, json=text(chatting), headers=AUTH) for _ in range(4)]

    assert_meta_error(answers[0], 500, 131000)
    assert_meta_error(answers[1], 500, 131000)
    error = assert_meta_error(answers[2], 429, 130429)
    assert error["error_data"]["details"]
    assert answers[3].status_code == 200
    requests = (await client.get("/sim/requests")).json()
    assert [r["status_code"] for r in requests] == [500, 500, 429, 200]


async def test_error_rate_fails_every_send_at_rate_one(
    client: httpx.AsyncClient, chatting: str
) -> None:
    config = {"error_rate": 1.0, "error_status": 503, "error_code": 131056}
    assert (await client.patch("/sim/config", json=config)).status_code == 200

    response = await client.post(SEND_PATH, json=text(chatting), headers=AUTH)

    assert_meta_error(response, 503, 131056)
    await client.post("/sim/reset")
    assert (await client.get("/sim/config")).json()["error_rate"] == 0


async def test_latency_is_added(client: httpx.AsyncClient, chatting: str) -> None:
    await client.patch("/sim/config", json={"latency_ms": 200})

    started = time.monotonic()
    response = await client.post(SEND_PATH, json=text(chatting), headers=AUTH)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_mark_as_read_with_typing_is_recorded(
    client: httpx.AsyncClient, chatting: str
) -> None:
    inbound = (await client.get("/sim/messages", params={"direction": "inbound"})).json()
    wamid = inbound[0]["wamid"]
    payload = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
        "typing_indicator": {"type": "text"},
    }

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert (await client.get(f"/sim/messages/{wamid}")).json()["status"] == "read"
    (chat,) = (await client.get("/sim/chats", params={"wa_id": chatting})).json()
    assert chat["phone_number_id"] == PHONE_ID
    assert chat["typing_until"] > time.time()
    assert (await client.get("/sim/requests")).json()[-1]["body"] == payload


async def test_mark_as_read_of_an_unknown_message_is_an_invalid_parameter(
    client: httpx.AsyncClient,
) -> None:
    payload = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    assert_meta_error(response, 400, 100)


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("image", {"link": "https://example.com/a.jpg", "caption": "c"}),
        ("video", {"id": "123"}),
        ("audio", {"id": "123"}),
        ("document", {"link": "https://example.com/a.pdf", "filename": "a.pdf"}),
        ("sticker", {"id": "123"}),
        ("location", {"latitude": 1.5, "longitude": 2.5, "name": "here"}),
        ("contacts", [{"name": {"formatted_name": "Test Contact"}}]),
        ("interactive", {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": []}}),
        ("reaction", {"message_id": "wamid.x", "emoji": "👍"}),
    ],
)
async def test_every_type_pywa_sends_is_accepted_and_recorded(
    client: httpx.AsyncClient, chatting: str, kind: str, content: Any
) -> None:
    payload = {"messaging_product": "whatsapp", "to": chatting, "type": kind, kind: content}

    response = await client.post(SEND_PATH, json=payload, headers=AUTH)

    assert response.status_code == 200, response.text
    outbound = (await client.get("/sim/messages", params={"direction": "outbound"})).json()
    assert [(m["type"], m["payload"]) for m in outbound] == [(kind, content)]


async def test_other_graph_paths_answer_in_meta_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v26.0/{PHONE_ID}/whatsapp_business_profile", headers=AUTH)

    assert_meta_error(response, 400, 100)


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
