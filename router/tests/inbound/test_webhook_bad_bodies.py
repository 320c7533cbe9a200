import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.inbound.webhook import DISCARD_IDLE_SECONDS
from app.main import create_app

from ..conftest import APP_SECRET, RouterUnderTest, make_settings
from ..graph_api import GraphApi
from ..hostile_bodies import served
from ..meta import fixture, signed, text_message


async def post_signed(router: RouterUnderTest, payload: Any) -> Any:
    body, headers = signed(APP_SECRET, payload)
    return await router.client.post("/webhook", content=body, headers=headers)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"not json", b'{"object": "whatsapp_business_account", ', b"\xff\xfe\x00"]
)
async def test_a_signed_body_that_is_not_json_is_400(router: RouterUnderTest, raw: bytes) -> None:
    response = await post_signed(router, raw)

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_body", "message": "body is not valid JSON"}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        42,
        None,
        {},
        {"entry": []},
        {"object": None},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]},
    ],
)
async def test_a_body_of_the_wrong_shape_is_ignored_with_200_and_a_reason(
    router: RouterUnderTest, payload: Any
) -> None:
    response = await post_signed(router, payload)

    # Not a 4xx: Meta would deliver it again for days, and may turn the subscription off.
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "ignored"
    assert answer["reason"].startswith("not a webhook body")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1_000 + b"]" * 1_000,
        b"[" * 100_000,
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"a": ' * 2_000 + b"1" + b"}" * 2_000,
    ],
    ids=["1,000 levels", "100,000 levels", "deep entry", "deep objects"],
)
async def test_a_body_nested_too_deeply_is_400_with_a_reason(
    router: RouterUnderTest, raw: bytes
) -> None:
    response = await post_signed(router, raw)

    # Python 3.11's json gives up at about 1,000 levels; from 3.12 on it reads deeper, and the
    # shape check then refuses what is not a webhook. Either way: a 4xx with its reason.
    if response.status_code == 400:
        error = response.json()["error"]
        assert error == {"code": "invalid_body", "message": "body is nested too deeply"}
    else:
        assert sys.version_info >= (3, 12)
        assert response.status_code == 200
        assert response.json()["reason"].startswith("not a webhook body")


async def test_another_object_is_ignored_with_200(router: RouterUnderTest) -> None:
    response = await post_signed(router, {"object": "page", "entry": []})

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


def _value(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return value


def _nulls() -> list[tuple[dict[str, Any], int]]:
    """Bodies with nulls or broken items, and how many replies each still deserves."""
    bodies = []
    for key, replies in [("messages", 0), ("statuses", 1), ("contacts", 1), ("metadata", 0)]:
        body = fixture("message_text")
        _value(body)[key] = None
        bodies.append((body, replies))
    body = fixture("message_text")
    body["entry"] = None
    bodies.append((body, 0))
    body = fixture("message_text")
    body["entry"][0]["changes"] = None
    bodies.append((body, 0))
    body = fixture("message_text")
    _value(body)["messages"] = [None, 7, "x", {"id": None}, {"type": "text"}]
    bodies.append((body, 0))
    body = fixture("message_text")
    _value(body)["messages"][0]["text"] = None
    bodies.append((body, 0))
    body = fixture("message_text")
    _value(body)["messages"][0]["text"] = {"body": None}
    bodies.append((body, 0))
    body = fixture("status_failed_130472")
    _value(body)["statuses"][0]["errors"] = None
    bodies.append((body, 0))
    return bodies


@pytest.mark.parametrize(("payload", "replies"), _nulls())
async def test_nulls_and_broken_items_are_200_and_never_5xx(
    router: RouterUnderTest, graph_route: GraphApi, payload: dict[str, Any], replies: int
) -> None:
    response = await post_signed(router, payload)
    await router.settle()

    assert response.status_code == 200
    assert graph_route.call_count == replies


async def test_unknown_fields_everywhere_are_ignored(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = fixture("message_text")
    body["new_top"] = {"x": 1}
    body["entry"][0]["new_entry_field"] = [1, 2]
    body["entry"][0]["changes"][0]["new_change_field"] = None
    _value(body)["new_value_field"] = "x"
    _value(body)["messages"][0]["new_message_field"] = {"deep": True}

    response = await post_signed(router, body)
    await router.settle()

    assert response.status_code == 200
    assert graph_route.call_count == 1


async def test_one_broken_message_does_not_hide_its_neighbours(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = text_message("wamid.good1", "first")
    messages = _value(body)["messages"]
    messages.insert(0, {"id": "wamid.broken", "type": None})
    messages.append(_value(text_message("wamid.good2", "second"))["messages"][0])

    response = await post_signed(router, body)
    await router.settle()

    assert response.json()["messages"] == 2
    assert response.json()["skipped"] == 1
    assert graph_route.call_count == 2


async def test_a_change_for_another_field_is_skipped(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    body = fixture("message_text")
    body["entry"][0]["changes"][0]["field"] = "account_update"

    response = await post_signed(router, body)
    await router.settle()

    assert response.status_code == 200
    assert response.json()["skipped"] == 1
    assert not graph_route.called


@pytest.mark.parametrize("declared", [str(2 * 1024 * 1024), "9" * 5_000], ids=["2 MB", "absurd"])
async def test_an_oversized_body_is_413(router: RouterUnderTest, declared: str) -> None:
    response = await router.client.post(
        "/webhook",
        content=b"{}",
        headers={"Content-Length": declared, "X-Hub-Signature-256": "sha256=00"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "body_too_large",
        "message": "body larger than 1048576 bytes",
    }


async def test_an_oversized_body_sent_without_its_length_is_413(
    router: RouterUnderTest,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 64 * 1024  # 2.5 MB in all, announced by no Content-Length

    response = await router.client.post(
        "/webhook", content=chunks(), headers={"X-Hub-Signature-256": "sha256=00"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("declared", "waits"),
    [(10**12, False), (2 * 1024 * 1024, True)],
    ids=["more than is ever read", "more than it sends"],
)
async def test_a_body_announced_larger_than_it_comes_is_a_413_and_the_connection_closes(
    declared: int, waits: bool
) -> None:
    # The client announces its length, sends 50 bytes and waits. Past what would ever be read
    # the 413 comes at once; under it, once nothing more has come for DISCARD_IDLE_SECONDS. Either
    # way the connection is closed after it, never held until it times out.
    async with served(create_app(make_settings())) as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /webhook HTTP/1.1\r\nHost: router\r\nX-Hub-Signature-256: sha256=00\r\n"
            b"Content-Length: %d\r\n\r\n" % declared + b"{" * 50
        )
        await writer.drain()
        started = time.monotonic()
        async with asyncio.timeout(10):  # the test's own bound: the router's must be well under
            answer = await reader.read()  # everything until the router closes the connection
        took = time.monotonic() - started
        writer.close()

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"body_too_large"' in answer
    assert took < (DISCARD_IDLE_SECONDS + 2 if waits else 1)
    if waits:
        assert took >= DISCARD_IDLE_SECONDS * 0.9
