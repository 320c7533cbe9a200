"""Message templates: each WABA's list in the Graph API's shape, and template sends checked against
it with Meta's error codes."""

from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, SECOND, SECOND_AUTH, SEND_PATH, make_user
from tests.test_graph import assert_meta_error

WABA = "1234567890987654321"  # the default number's (SIMULATOR_WABA_ID's default)
TEMPLATES_PATH = f"/v26.0/{WABA}/message_templates"


def template(
    to: str, name: str, language: str = "en_US", components: list[Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        body["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": body,
    }


def texts(*values: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value} for value in values]


async def test_the_waba_lists_its_seeded_templates_as_meta_does(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(TEMPLATES_PATH, headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "paging"}
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    found = {(t["name"], t["language"]): t for t in body["data"]}
    hello = found["hello_world", "en_US"]
    assert hello["status"] == "APPROVED"
    assert hello["category"] == "UTILITY"
    assert [c["type"] for c in hello["components"]] == ["HEADER", "BODY", "FOOTER"]
    assert ("appointment_reminder", "es") in found


async def test_the_list_pages_and_filters(client: httpx.AsyncClient) -> None:
    first = (await client.get(TEMPLATES_PATH, params={"limit": 2}, headers=AUTH)).json()
    assert len(first["data"]) == 2
    assert "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    rest = (
        await client.get(TEMPLATES_PATH, params={"limit": 2, "after": after}, headers=AUTH)
    ).json()
    names = {t["id"] for t in first["data"]} | {t["id"] for t in rest["data"]}
    assert len(names) == 4
    assert "next" not in rest["paging"]

    spanish = (await client.get(TEMPLATES_PATH, params={"language": "es"}, headers=AUTH)).json()
    assert [t["name"] for t in spanish["data"]] == ["appointment_reminder"]


async def test_the_list_takes_only_a_token_of_the_wabas_numbers(
    client: httpx.AsyncClient,
) -> None:
    assert_meta_error(await client.get(TEMPLATES_PATH), 401, 190)
    wrong = {"Authorization": "Bearer nobody-has-this"}
    assert_meta_error(await client.get(TEMPLATES_PATH, headers=wrong), 401, 190)
    other = f"/v26.0/{SECOND['waba_id']}/message_templates"
    assert_meta_error(await client.get(other, headers=AUTH), 400, 100)


async def test_a_template_goes_out_outside_the_window_rendered(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client, wa_id="15550009001")  # never wrote: the window is closed
    components = [
        {"type": "header", "parameters": texts("#7")},
        {"type": "body", "parameters": texts("there", "#7", "Monday")},
    ]
    response = await client.post(
        SEND_PATH, json=template(user["wa_id"], "order_update", components=components), headers=AUTH
    )

    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]
    recorded = (await client.get(f"/sim/messages/{wamid}")).json()
    assert recorded["type"] == "template"
    assert recorded["rendered"] == {
        "name": "order_update",
        "language": "en_US",
        "header": "Order #7",
        "body": "Hi there, your order #7 has shipped and should arrive on Monday.",
        "footer": "Reply STOP to stop order updates",
        "buttons": ["Track order", "Talk to us"],
    }


async def test_hello_world_needs_no_parameters(client: httpx.AsyncClient) -> None:
    user = await make_user(client, wa_id="15550009002")
    response = await client.post(
        SEND_PATH, json=template(user["wa_id"], "hello_world"), headers=AUTH
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("name", "language"),
    [("no_such_template", "en_US"), ("hello_world", "fr"), ("appointment_reminder", "de")],
)
async def test_an_unknown_template_or_language_is_132001(
    client: httpx.AsyncClient, name: str, language: str
) -> None:
    user = await make_user(client, wa_id="15550009003")
    response = await client.post(
        SEND_PATH, json=template(user["wa_id"], name, language), headers=AUTH
    )

    error = assert_meta_error(response, 404, 132001)
    assert error["message"] == "(#132001) Template name does not exist in the translation"
    assert error["error_data"]["details"] == f"template name ({name}) does not exist in {language}"
    sent = (await client.get(f"/sim/users/{user['wa_id']}/messages")).json()
    assert sent == []


@pytest.mark.parametrize(
    "components",
    [
        None,
        [{"type": "body", "parameters": texts("Customer")}],
        [{"type": "body", "parameters": texts("Customer", "Monday", "extra")}],
    ],
)
async def test_a_wrong_parameter_count_is_132000(
    client: httpx.AsyncClient, components: list[Any] | None
) -> None:
    user = await make_user(client, wa_id="15550009004")
    send = template(user["wa_id"], "appointment_reminder", components=components)
    response = await client.post(SEND_PATH, json=send, headers=AUTH)

    error = assert_meta_error(response, 400, 132000)
    assert "number of params (2)" in error["error_data"]["details"]


async def test_each_waba_has_its_own_list(client: httpx.AsyncClient) -> None:
    created = await client.post("/sim/businesses", json=SECOND)
    assert created.status_code == 201, created.text
    path = f"/v26.0/{SECOND['waba_id']}/message_templates"
    response = await client.get(path, headers=SECOND_AUTH)
    assert response.status_code == 200, response.text
    assert "hello_world" in {t["name"] for t in response.json()["data"]}
