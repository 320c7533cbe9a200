import asyncio
import json
from typing import Any

import httpx
import pytest
import respx
import structlog
from structlog.testing import capture_logs

from ..conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    MESSAGES_URL,
    SERVER_URL,
    RouterUnderTest,
)
from ..graph_api import GraphApi, meta_error
from ..meta import BSUID, WA_ID, batch, fixture, signed, text_message

# A video's and a document's caption is their text (app/media/): answered (test_media_captions).
NON_TEXT_FIXTURES = [
    "message_image",
    "message_audio",
    "message_voice",
    "message_sticker",
    "message_reaction",
    "message_unreaction_empty",
    "message_location",
    "message_contacts",
    "message_unsupported_with_errors",
    "message_interactive_with_value_errors",
    "interactive_button_reply",
    "interactive_list_reply",
    "template_quick_reply_button",
    "system_user_changed_number",
]
STATUS_FIXTURES = ["status_sent", "status_delivered", "status_read", "status_failed_130472"]


async def post(router: RouterUnderTest, payload: Any) -> httpx.Response:
    body, headers = signed(APP_SECRET, payload)
    return await router.client.post("/webhook", content=body, headers=headers)


def sent(route: GraphApi) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.sends]


async def test_a_text_gets_the_servers_reply_through_the_graph_api(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi
) -> None:
    response = await post(router, fixture("message_text"))
    await router.settle()

    assert response.status_code == 200
    assert response.json()["messages"] == 1
    assert json.loads(server_route.calls.last.request.content) == {"text": "Body Text"}
    assert server_route.calls.last.request.headers["x-request-id"]
    request = graph_route.calls.last.request
    assert str(request.url) == MESSAGES_URL
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    payload = json.loads(request.content)
    assert payload["messaging_product"] == "whatsapp"
    assert payload["type"] == "text"
    assert payload["text"]["body"] == (
        "I received your message: 'Body Text' and here is a random number: 7"
    )


async def test_the_reply_goes_to_the_wa_id_when_meta_gives_one(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    # The 2026 shape carries both a phone number (wa_id) and a BSUID; answer the phone number.
    await post(router, fixture("message_text"))
    await router.settle()

    payload = sent(graph_route)[0]
    assert payload["to"] == WA_ID
    assert "recipient" not in payload


async def test_the_reply_goes_to_the_bsuid_when_there_is_no_phone_number(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = fixture("message_text")
    value = body["entry"][0]["changes"][0]["value"]
    del value["contacts"][0]["wa_id"]
    message = value["messages"][0]
    del message["from"]
    message["from_user_id"] = BSUID

    await post(router, body)
    await router.settle()

    payload = sent(graph_route)[0]
    assert payload["recipient"] == BSUID
    assert "to" not in payload


async def test_the_classic_contact_shape_is_answered(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    await post(router, fixture("message_text_classic_no_user_id"))
    await router.settle()

    assert [p["to"] for p in sent(graph_route)] == [WA_ID]


@pytest.mark.parametrize(
    "name",
    ["message_text_reply_context", "message_text_forwarded", "message_text_with_ad_referral"],
)
async def test_text_variants_are_answered(
    router: RouterUnderTest, graph_route: GraphApi, name: str
) -> None:
    await post(router, fixture(name))
    await router.settle()

    assert graph_route.call_count == 1


async def test_every_message_of_a_batched_body_is_answered(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi
) -> None:
    # Several entries, and several messages in one change, in one POST.
    two_in_one = text_message("wamid.b1", "one")
    value = two_in_one["entry"][0]["changes"][0]["value"]
    value["messages"].append(
        text_message("wamid.b2", "two")["entry"][0]["changes"][0]["value"]["messages"][0]
    )
    second_change = text_message("wamid.b3", "three", wa_id="15550001111", user_id=None)
    two_in_one["entry"][0]["changes"].append(second_change["entry"][0]["changes"][0])
    body = batch(
        two_in_one,
        text_message("wamid.b4", "four", wa_id="15550002222"),
        fixture("status_delivered"),
        fixture("message_image"),
    )

    response = await post(router, body)
    await router.settle()

    assert response.json()["messages"] == 5
    texts = [json.loads(c.request.content)["text"] for c in server_route.calls]
    assert sorted(texts) == ["four", "one", "three", "two"]
    # Contacts are served in parallel; one contact's messages strictly in order.
    assert texts.index("one") < texts.index("two")
    replies = sent(graph_route)
    assert sorted(p["to"] for p in replies) == sorted([WA_ID, WA_ID, "15550001111", "15550002222"])
    same_contact = [p["text"]["body"] for p in replies if p["to"] == WA_ID]
    assert ["'one'" in same_contact[0], "'two'" in same_contact[1]] == [True, True]


async def test_a_redelivery_gets_no_second_reply(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = fixture("message_text")
    first = await post(router, body)
    await router.settle()
    same_bytes = await post(router, body)
    reserialised = await post(router, json.loads(json.dumps(body, indent=2, sort_keys=True)))
    await router.settle()

    assert first.json()["messages"] == 1
    assert same_bytes.status_code == reserialised.status_code == 200
    assert same_bytes.json()["duplicates"] == 1
    assert reserialised.json()["duplicates"] == 1
    assert graph_route.call_count == 1


async def test_concurrent_duplicate_deliveries_get_one_reply(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = text_message("wamid.concurrent", "hello")

    responses = await asyncio.gather(*(post(router, body) for _ in range(10)))
    await router.settle()

    assert all(r.status_code == 200 for r in responses)
    assert sum(r.json()["messages"] for r in responses) == 1
    assert graph_route.call_count == 1


@pytest.mark.parametrize("name", NON_TEXT_FIXTURES)
async def test_non_text_messages_are_accepted_and_not_answered(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi, name: str
) -> None:
    response = await post(router, fixture(name))
    await router.settle()

    assert response.status_code == 200
    assert not server_route.called
    assert not graph_route.sends  # a file's fetch may have asked for it: nothing is sent


@pytest.mark.parametrize(
    ("name", "caption"),
    [("message_video_with_context", "caption"), ("message_document_with_context", "caption")],
)
async def test_a_files_caption_is_answered_as_its_text(
    router: RouterUnderTest,
    server_route: respx.Route,
    graph_route: GraphApi,
    name: str,
    caption: str,
) -> None:
    response = await post(router, fixture(name))
    await router.settle()

    assert response.status_code == 200
    assert [json.loads(c.request.content)["text"] for c in server_route.calls] == [caption]
    assert len(graph_route.sends) == 1


@pytest.mark.parametrize("name", STATUS_FIXTURES)
async def test_statuses_are_accepted_and_not_answered(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi, name: str
) -> None:
    response = await post(router, fixture(name))
    await router.settle()

    assert response.status_code == 200
    assert response.json()["statuses"] == 1
    assert not server_route.called
    assert not graph_route.called


async def test_a_long_reply_is_sent_as_ordered_parts_within_the_limit(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    words = " ".join(f"word{i}" for i in range(1500))  # about 12,400 characters
    await post(router, text_message("wamid.long", words))
    await router.settle()

    bodies = [p["text"]["body"] for p in sent(graph_route)]
    assert len(bodies) == 4
    assert all(len(b) <= 4096 for b in bodies)
    reply = f"I received your message: '{words}' and here is a random number: 7"
    assert " ".join(bodies) == reply


async def test_the_ack_does_not_wait_for_the_server(
    router: RouterUnderTest, mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json={"original": "x", "reply": "late"})

    mock_http.post(f"{SERVER_URL}/process").mock(side_effect=slow)

    response = await asyncio.wait_for(post(router, fixture("message_text")), timeout=2)
    assert response.status_code == 200
    assert not graph_route.called

    release.set()
    await router.settle()
    assert graph_route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(200, json={"unexpected": True}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_a_server_failure_is_logged_with_the_message_id_and_acked(
    router: RouterUnderTest,
    mock_http: respx.MockRouter,
    graph_route: GraphApi,
    failure: httpx.Response | Exception,
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    process = mock_http.post(f"{SERVER_URL}/process").mock(side_effect=fail)

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await post(router, text_message("wamid.fails", "hi"))
        await router.settle()

    assert response.status_code == 200
    assert not graph_route.called
    assert process.call_count == 4  # router_retry_max_attempts in tests
    failures = [log for log in logs if log["event"] == "message.backend_failed"]
    assert failures
    assert failures[0]["wamid"] == "wamid.fails"
    dead = (await router.admin("GET", "/api/v1/messages", params={"status": "failed"})).json()
    assert [m["wamid"] for m in dead["items"]] == ["wamid.fails"]
    assert dead["items"][0]["error_title"].startswith("the Server")


async def test_a_graph_api_error_is_logged_with_metas_code(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    graph_route.mock(
        return_value=meta_error(
            400,
            131047,
            "Re-engagement message",
            error_data={"messaging_product": "whatsapp", "details": "outside window"},
        )
    )

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await post(router, fixture("message_text"))
        await router.settle()

    assert response.status_code == 200
    failures = [log for log in logs if log["event"] == "message.send_failed"]
    assert failures[0]["error_code"] == 131047
    assert failures[0]["wamid"] == "wamid.xyzxyz"
