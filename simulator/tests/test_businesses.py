"""Several business numbers: each its own token on the Graph API, its own metadata in webhooks, and
its own chat with each user."""

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.settings import Settings, get_settings
from tests.conftest import (
    AUTH,
    PHONE_ID,
    SECOND,
    SECOND_AUTH,
    SECOND_SEND_PATH,
    SECOND_TOKEN,
    SEND_PATH,
    TOKEN,
    make_user,
    user_writes,
)
from tests.receiver import Receiver
from tests.test_graph import assert_meta_error, text

SECOND_ID = SECOND["phone_number_id"]
USER = "972987654321"
# What PyWA 4's `get_business_phone_number` asks for: every field of its BusinessPhoneNumber.
PYWA_FIELDS = (
    "id,verified_name,display_phone_number,conversational_automation,status,quality_rating,"
    "quality_score,webhook_configuration,name_status,new_name_status,code_verification_status,"
    "account_mode,is_on_biz_app,is_official_business_account,is_pin_enabled,"
    "is_preverified_number,search_visibility,platform_type,throughput,"
    "eligibility_for_api_business_global_search,health_status,certificate,new_certificate,"
    "last_onboarded_time,country_code,country_dial_code,whatsapp_business_manager_messaging_limit"
)


@pytest.fixture
def settings_env(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conftest's settings, and a second business number configured beside the default."""
    monkeypatch.setenv("SIMULATOR_BUSINESSES", json.dumps([SECOND]))
    get_settings.cache_clear()


@pytest.fixture
async def chatting(client: httpx.AsyncClient) -> str:
    """A user who has just written to both numbers: both windows are open."""
    await make_user(client, wa_id=USER)
    await user_writes(client, USER, text="to the default")
    await user_writes(client, USER, text="to the second", phone_number_id=SECOND_ID)
    return USER


def webhook_values(receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    """Every change value delivered, with its entry's id."""
    return [
        (entry["id"], change["value"])
        for raw in receiver.bodies()
        for entry in json.loads(raw)["entry"]
        for change in entry["changes"]
    ]


# -- the businesses ---------------------------------------------------------------------------


async def test_the_businesses_are_listed_without_their_tokens(client: httpx.AsyncClient) -> None:
    response = await client.get("/sim/businesses")

    assert response.status_code == 200
    assert response.json() == [
        {
            "phone_number_id": PHONE_ID,
            "display_phone_number": "972123456789",
            "waba_id": "1234567890987654321",
            "name": "Simulator Business",
            "is_default": True,
        },
        {**{k: v for k, v in SECOND.items() if k != "access_token"}, "is_default": False},
    ]
    assert TOKEN not in response.text
    assert SECOND_TOKEN not in response.text


async def test_a_business_added_at_run_time_sends_with_its_own_token(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    third = {
        "phone_number_id": "3344556677889",
        "display_phone_number": "15550003000",
        "access_token": "third-token",
        "name": "Third Business",
    }

    created = await client.post("/sim/businesses", json=third)

    assert created.status_code == 201, created.text
    body = created.json()
    assert "access_token" not in body
    assert body["waba_id"].isdigit()
    assert (await client.get("/sim/businesses/3344556677889")).json() == body
    await make_user(client, wa_id=USER)
    await user_writes(client, USER, phone_number_id="3344556677889")
    assert webhook_values(receiver)[0][0] == body["waba_id"]
    send = await client.post(
        "/v26.0/3344556677889/messages",
        json=text(USER),
        headers={"Authorization": "Bearer third-token"},
    )
    assert send.status_code == 200, send.text


@pytest.mark.parametrize("taken", [PHONE_ID, SECOND_ID])
async def test_a_taken_phone_number_id_is_a_409(client: httpx.AsyncClient, taken: str) -> None:
    again = {**SECOND, "phone_number_id": taken, "access_token": "another-token"}

    response = await client.post("/sim/businesses", json=again)

    assert response.status_code == 409
    assert taken in response.json()["detail"]
    assert len((await client.get("/sim/businesses")).json()) == 2


@pytest.mark.parametrize(
    "change",
    [{"phone_number_id": "12/34"}, {"display_phone_number": "+1 555"}, {"access_token": ""}],
    ids=["id-not-digits", "display-not-digits", "no-token"],
)
async def test_a_bad_business_is_a_422(client: httpx.AsyncClient, change: dict[str, str]) -> None:
    response = await client.post("/sim/businesses", json={**SECOND, **change})

    assert response.status_code == 422
    (field,) = change
    assert any(field in error["loc"] for error in response.json()["detail"])


def test_a_phone_number_id_given_twice_in_the_settings_is_a_start_up_error(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMULATOR_BUSINESSES", json.dumps([SECOND, {**SECOND, "name": "Again"}]))

    with pytest.raises(ValidationError, match=f"phone_number_id {SECOND_ID} is given twice"):
        Settings()


async def test_reset_keeps_the_businesses(client: httpx.AsyncClient) -> None:
    third = {**SECOND, "phone_number_id": "3344556677889", "access_token": "third-token"}
    await client.post("/sim/businesses", json=third)

    await client.post("/sim/reset")

    ids = [b["phone_number_id"] for b in (await client.get("/sim/businesses")).json()]
    assert ids == [PHONE_ID, SECOND_ID, "3344556677889"]


# -- sends: each number with its own token -------------------------------------------------------


async def test_each_number_sends_with_its_own_token(
    client: httpx.AsyncClient, chatting: str
) -> None:
    first = await client.post(SEND_PATH, json=text(chatting, "from the default"), headers=AUTH)
    second = await client.post(
        SECOND_SEND_PATH, json=text(chatting, "from the second"), headers=SECOND_AUTH
    )

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    outbound = (await client.get("/sim/messages", params={"direction": "outbound"})).json()
    assert [(m["phone_number_id"], m["payload"]["body"]) for m in outbound] == [
        (PHONE_ID, "from the default"),
        (SECOND_ID, "from the second"),
    ]


@pytest.mark.parametrize(
    ("path", "headers", "number"),
    [(SEND_PATH, SECOND_AUTH, PHONE_ID), (SECOND_SEND_PATH, AUTH, SECOND_ID)],
    ids=["second-token-on-default", "default-token-on-second"],
)
async def test_another_numbers_token_is_refused_as_meta_refuses_it(
    client: httpx.AsyncClient, chatting: str, path: str, headers: dict[str, str], number: str
) -> None:
    response = await client.post(path, json=text(chatting), headers=headers)

    error = assert_meta_error(response, 400, 100)
    assert error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    assert error["message"].startswith(
        f"Unsupported post request. Object with ID '{number}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation."
    )
    assert (await client.get("/sim/messages", params={"direction": "outbound"})).json() == []


async def test_an_unknown_number_gets_the_same_answer_as_another_numbers(
    client: httpx.AsyncClient, chatting: str
) -> None:
    unknown = await client.post("/v26.0/999/messages", json=text(chatting), headers=SECOND_AUTH)
    others = await client.post(SEND_PATH, json=text(chatting), headers=SECOND_AUTH)

    def without_trace(response: httpx.Response) -> dict[str, Any]:
        error: dict[str, Any] = response.json()["error"]
        return {k: v for k, v in error.items() if k != "fbtrace_id"}

    assert unknown.status_code == others.status_code == 400
    assert without_trace(unknown) == without_trace(others) | {
        "message": without_trace(others)["message"].replace(PHONE_ID, "999")
    }


async def test_a_token_no_business_has_is_a_190(client: httpx.AsyncClient, chatting: str) -> None:
    response = await client.post(
        SECOND_SEND_PATH, json=text(chatting), headers={"Authorization": "Bearer nobody"}
    )

    error = assert_meta_error(response, 401, 190)
    assert error["type"] == "OAuthException"
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert "error_subcode" not in error


async def test_a_number_reads_only_the_messages_it_received(
    client: httpx.AsyncClient, chatting: str
) -> None:
    inbound = (await client.get("/sim/messages", params={"direction": "inbound"})).json()
    to_default, to_second = (m["wamid"] for m in inbound)

    def read(wamid: str) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}

    refused = await client.post(SECOND_SEND_PATH, json=read(to_default), headers=SECOND_AUTH)
    accepted = await client.post(SECOND_SEND_PATH, json=read(to_second), headers=SECOND_AUTH)

    assert_meta_error(refused, 400, 100)
    assert accepted.status_code == 200, accepted.text
    statuses = {m["wamid"]: m["status"] for m in (await client.get("/sim/messages")).json()}
    assert statuses == {to_default: "delivered", to_second: "read"}


# -- the phone number node ---------------------------------------------------------------------


async def test_the_phone_number_node_answers_metas_default_fields(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v26.0/{SECOND_ID}", headers=SECOND_AUTH)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "verified_name": "Second Business",
        "code_verification_status": "VERIFIED",
        "display_phone_number": "+15550002000",
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "id": SECOND_ID,
    }
    (request,) = (await client.get("/sim/requests")).json()
    assert request["method"] == "GET"
    assert (request["phone_id"], request["status_code"]) == (SECOND_ID, 200)


async def test_fields_pick_the_fields_and_id_always_comes(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/v26.0/{PHONE_ID}", params={"fields": "verified_name,throughput{level}"}, headers=AUTH
    )

    assert response.json() == {
        "verified_name": "Simulator Business",
        "throughput": {"level": "STANDARD"},
        "id": PHONE_ID,
    }


async def test_every_field_pywa_asks_for_is_answered(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await client.get(f"/v26.0/{SECOND_ID}?fields={PYWA_FIELDS}", headers=SECOND_AUTH)

    assert response.status_code == 200, response.text
    node = response.json()
    assert set(node) <= set(PYWA_FIELDS.split(","))
    assert node["id"] == SECOND_ID
    assert node["status"] == "CONNECTED"
    assert node["webhook_configuration"] == {"application": receiver.url}
    assert [e["id"] for e in node["health_status"]["entities"]] == [SECOND_ID, SECOND["waba_id"]]


async def test_a_field_the_node_does_not_have_is_a_100(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v26.0/{PHONE_ID}?fields=id,colour", headers=AUTH)

    error = assert_meta_error(response, 400, 100)
    assert error["message"] == (
        "(#100) Tried accessing nonexisting field (colour) on node type "
        "(WhatsAppBusinessPhoneNumber)"
    )


@pytest.mark.parametrize(
    ("number", "headers", "status", "code"),
    [
        (PHONE_ID, SECOND_AUTH, 400, 100),
        ("999", AUTH, 400, 100),
        (SECOND_ID, {"Authorization": "Bearer nobody"}, 401, 190),
        (SECOND_ID, {}, 401, 190),
    ],
    ids=["another-numbers-token", "unknown-number", "unknown-token", "no-token"],
)
async def test_the_node_takes_only_that_numbers_token(
    client: httpx.AsyncClient, number: str, headers: dict[str, str], status: int, code: int
) -> None:
    response = await client.get(f"/v26.0/{number}", headers=headers)

    error = assert_meta_error(response, status, code)
    if code == 100:
        assert error["error_subcode"] == 33
        assert error["message"].startswith(f"Unsupported get request. Object with ID '{number}'")


async def test_a_path_that_is_not_a_graph_version_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/sim/{PHONE_ID}", headers=AUTH)

    assert response.status_code == 404
    assert (await client.get("/sim/requests")).json() == []


# -- webhooks and chats, per number -------------------------------------------------------------


async def test_a_user_writing_to_a_number_reaches_the_router_with_that_numbers_metadata(
    client: httpx.AsyncClient, receiver: Receiver, chatting: str
) -> None:
    (default_entry, default_value), (second_entry, second_value) = webhook_values(receiver)

    assert default_entry == "1234567890987654321"
    assert default_value["metadata"] == {
        "display_phone_number": "972123456789",
        "phone_number_id": PHONE_ID,
    }
    assert second_entry == SECOND["waba_id"]
    assert second_value["metadata"] == {
        "display_phone_number": SECOND["display_phone_number"],
        "phone_number_id": SECOND_ID,
    }
    assert second_value["messages"][0]["text"] == {"body": "to the second"}


async def test_a_batch_goes_to_the_number_it_names(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id=USER)
    batch = {"phone_number_id": SECOND_ID, "messages": [{"wa_id": USER, "text": "hi"}]}

    response = await client.post("/sim/webhooks/batch", json=batch)

    assert response.status_code == 200, response.text
    ((entry_id, value),) = webhook_values(receiver)
    assert entry_id == SECOND["waba_id"]
    assert value["metadata"]["phone_number_id"] == SECOND_ID


async def test_writing_to_a_number_nobody_plays_is_a_404(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id=USER)

    response = await client.post(
        f"/sim/users/{USER}/messages", json={"text": "hi", "phone_number_id": "999"}
    )

    assert response.status_code == 404
    assert "999" in response.json()["detail"]


async def test_statuses_carry_the_sending_numbers_metadata_one_body_per_number(
    client: httpx.AsyncClient, receiver: Receiver, chatting: str
) -> None:
    # A wide window: both sends' statuses are due in it, and still go out in a body per number.
    await client.patch("/sim/config", json={"status_batch_window_ms": 300})
    first = (await client.post(SEND_PATH, json=text(chatting), headers=AUTH)).json()
    second = (await client.post(SECOND_SEND_PATH, json=text(chatting), headers=SECOND_AUTH)).json()
    assert (await client.post("/sim/flush")).json() == {"pending": 0}

    wabas = {PHONE_ID: "1234567890987654321", SECOND_ID: SECOND["waba_id"]}
    by_number: dict[str, list[tuple[str, str]]] = {}
    for entry_id, value in webhook_values(receiver):
        for status in value.get("statuses", []):
            number = value["metadata"]["phone_number_id"]
            assert entry_id == wabas[number]
            by_number.setdefault(number, []).append((status["id"], status["status"]))
    assert by_number == {
        PHONE_ID: [(first["messages"][0]["id"], s) for s in ("sent", "delivered", "read")],
        SECOND_ID: [(second["messages"][0]["id"], s) for s in ("sent", "delivered", "read")],
    }


async def test_a_user_has_a_chat_with_each_number(client: httpx.AsyncClient, chatting: str) -> None:
    await client.post(SEND_PATH, json=text(chatting, "reply from the default"), headers=AUTH)
    await client.post(
        SECOND_SEND_PATH, json=text(chatting, "reply from the second"), headers=SECOND_AUTH
    )

    async def chat(number: str) -> list[str]:
        messages = (
            await client.get(f"/sim/users/{chatting}/messages", params={"phone_number_id": number})
        ).json()
        return [
            (m["payload"]["text"] if m["direction"] == "inbound" else m["payload"])["body"]
            for m in messages
        ]

    assert await chat(PHONE_ID) == ["to the default", "reply from the default"]
    assert await chat(SECOND_ID) == ["to the second", "reply from the second"]
    everything = (await client.get(f"/sim/users/{chatting}/messages")).json()
    assert len(everything) == 4
    chats = (await client.get("/sim/chats", params={"wa_id": chatting})).json()
    assert {c["phone_number_id"] for c in chats} == {PHONE_ID, SECOND_ID}


async def test_the_window_is_per_number(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id=USER)
    await user_writes(client, USER, phone_number_id=SECOND_ID)

    closed = await client.post(SEND_PATH, json=text(USER), headers=AUTH)
    open_ = await client.post(SECOND_SEND_PATH, json=text(USER), headers=SECOND_AUTH)

    assert_meta_error(closed, 400, 131047)
    assert open_.status_code == 200, open_.text


async def test_replies_and_reactions_quote_the_last_message_from_that_number(
    client: httpx.AsyncClient, receiver: Receiver, chatting: str
) -> None:
    from_second = await client.post(SECOND_SEND_PATH, json=text(chatting), headers=SECOND_AUTH)
    await client.post(SEND_PATH, json=text(chatting), headers=AUTH)
    await client.post("/sim/flush")
    receiver.received.clear()

    await user_writes(client, chatting, type="reaction", phone_number_id=SECOND_ID)

    ((_, value),) = webhook_values(receiver)
    reaction = value["messages"][0]["reaction"]
    assert reaction["message_id"] == from_second.json()["messages"][0]["id"]
