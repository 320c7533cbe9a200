"""The request id is read so that it can always travel on: a caller's odd `X-Request-ID` never
costs its message the reply."""

import json

import pytest
import respx

from app.core.logs import request_id_from

from ..conftest import APP_SECRET, RouterUnderTest
from ..meta import signed, text_message


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        (b"abc-123_X.y", b"abc-123_X.y"),
        ("réq".encode(), b"rq"),
        ("réq".encode("latin-1"), b"rq"),
        (b"a\x00b\r\nc\td e\x7f", b"abcde"),
        (b"x" * 500, b"x" * 128),
    ],
    ids=["plain", "utf-8", "latin-1", "controls and spaces", "overlong"],
)
def test_an_id_keeps_only_what_can_travel_as_a_header(raw: bytes, read: bytes) -> None:
    assert request_id_from(raw) == read.decode()


@pytest.mark.parametrize("raw", [b"\xc3\xa9\xc3\xa9", b" \t ", b"\x00"])
def test_an_id_with_nothing_usable_is_replaced_by_a_new_one(raw: bytes) -> None:
    made = request_id_from(raw)

    assert len(made) == 32
    assert int(made, 16) >= 0


@pytest.mark.parametrize(
    "header", ["réq".encode(), b"\x01\x02", b"id " * 100], ids=["utf-8", "controls", "long"]
)
async def test_a_text_with_an_odd_request_id_gets_its_reply(
    router: RouterUnderTest, server_route: respx.Route, graph_route: respx.Route, header: bytes
) -> None:
    body, headers = signed(APP_SECRET, text_message("wamid.rid", "hello"))

    raw_headers = [(name.encode(), value.encode()) for name, value in headers.items()]
    response = await router.client.post(
        "/webhook", content=body, headers=[*raw_headers, (b"X-Request-ID", header)]
    )
    await router.settle()

    assert response.status_code == 200
    sent_on = server_route.calls.last.request.headers["x-request-id"]
    assert sent_on == response.headers["x-request-id"]
    assert sent_on.isascii()
    assert len(sent_on) <= 128
    assert graph_route.call_count == 1
    reply = json.loads(graph_route.calls.last.request.content)["text"]["body"]
    assert reply.startswith("I received your message: 'hello'")
