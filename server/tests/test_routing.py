"""`JsonBodyRoute` answers exactly as FastAPI's own route would, only cheaper."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.types import Message

from app.main import create_app
from app.routing import JsonBodyRoute


class Order(BaseModel):
    item: StrictStr
    quantity: StrictInt = Field(ge=1)


class Receipt(BaseModel):
    item: str
    total: int
    note: str | None = None


async def buy(order: Order) -> Receipt:
    return Receipt(item=order.item, total=order.quantity * 3)


def app_with(route_class: type | None, **route: Any) -> FastAPI:
    app = FastAPI()
    app.router.add_api_route(
        "/buy", buy, methods=["POST"], route_class_override=route_class, **route
    )
    return app


async def answer(app: FastAPI, content: bytes, headers: dict[str, str]) -> httpx.Response:
    # FastAPI itself fails on some bodies (a lone surrogate, NaN): a 500 then, compared as such.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/buy", content=content, headers=headers)


JSON = {"content-type": "application/json"}

REQUESTS = [
    pytest.param(b'{"item": "tea", "quantity": 2}', JSON, id="valid"),
    pytest.param('{"item": "שלום 👋", "quantity": 1}'.encode(), JSON, id="unicode"),
    pytest.param(b'{"item": "tea", "quantity": 2, "extra": [1]}', JSON, id="extra-field"),
    pytest.param(b'{"item": "tea", "quantity": 0}', JSON, id="constraint"),
    pytest.param(b'{"item": 5, "quantity": "2"}', JSON, id="wrong-types"),
    pytest.param(b'{"item": "tea"}', JSON, id="missing-field"),
    pytest.param(b'{"item": ', JSON, id="malformed-json"),
    pytest.param(b"", JSON, id="empty-body"),
    pytest.param(b"[]", JSON, id="not-an-object"),
    pytest.param(b'{"item": "a", "item": "b", "quantity": 1}', JSON, id="duplicate-key"),
    pytest.param(b'{"item": "\\ud800", "quantity": 1}', JSON, id="lone-surrogate"),
    pytest.param(b'{"item": "tea", "quantity": NaN}', JSON, id="nan"),
    pytest.param(
        b'{"item": "tea", "quantity": 2}',
        {"content-type": "application/json; charset=utf-8"},
        id="json-with-charset",
    ),
    pytest.param(
        b'{"item": "tea", "quantity": 2}', {"content-type": "application/vnd.api+json"}, id="+json"
    ),
    pytest.param(b'{"item": "tea", "quantity": 2}', {"content-type": "text/plain"}, id="text"),
    pytest.param(b'{"item": "tea", "quantity": 2}', {}, id="no-content-type"),
]


@pytest.mark.parametrize(("content", "headers"), REQUESTS)
async def test_the_answer_is_fastapis_byte_for_byte(
    content: bytes, headers: dict[str, str]
) -> None:
    fast = await answer(app_with(JsonBodyRoute), content, headers)
    plain = await answer(app_with(None), content, headers)

    assert (fast.status_code, fast.headers.raw, fast.content) == (
        plain.status_code,
        plain.headers.raw,
        plain.content,
    )


@pytest.mark.parametrize(
    "route",
    [
        {"status_code": 201},
        {"response_model_exclude_none": True},
        {"response_model_exclude": {"note"}},
        {"response_model_exclude_unset": True},
    ],
)
async def test_the_routes_response_options_are_kept(route: dict[str, Any]) -> None:
    body = b'{"item": "tea", "quantity": 2}'

    fast = await answer(app_with(JsonBodyRoute, **route), body, JSON)
    plain = await answer(app_with(None, **route), body, JSON)

    assert (fast.status_code, fast.content) == (plain.status_code, plain.content)


async def call(app: FastAPI, messages: list[Message]) -> list[Message]:
    """One raw ASGI request: `messages` received in turn, then a disconnect."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/buy",
        "raw_path": b"/buy",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8001),
    }
    pending = iter(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return next(pending, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_body_in_several_chunks_is_read_whole() -> None:
    chunks = [b'{"item": "t', b'ea", "quan', b'tity": 2}']
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    sent = await call(app_with(JsonBodyRoute), messages)

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"item":"tea","total":6,"note":null}'


async def test_a_client_gone_mid_body_is_left_to_fastapi() -> None:
    messages: list[Message] = [{"type": "http.request", "body": b'{"item"', "more_body": True}]

    fast = await call(app_with(JsonBodyRoute), messages)
    plain = await call(app_with(None), messages)

    assert fast == plain


def not_async(order: Order) -> Receipt:
    raise NotImplementedError


async def two_bodies(order: Order, other: Order) -> Receipt:
    raise NotImplementedError


async def a_plain_dict(order: dict[str, str]) -> Receipt:
    raise NotImplementedError


async def a_response(order: Order) -> Response:
    raise NotImplementedError


def user() -> str:
    return "someone"


@pytest.mark.parametrize(
    ("endpoint", "route", "needs"),
    [
        (not_async, {}, "an async endpoint"),
        (two_bodies, {}, "one parameter"),
        (a_plain_dict, {}, "one parameter"),
        (a_response, {}, "a response model"),
        (buy, {"dependencies": [Depends(user)]}, "no dependencies"),
        (buy, {"response_class": ORJSONResponse}, "the default response class"),
    ],
)
def test_what_the_fast_path_cannot_honour_is_a_start_up_error(
    endpoint: Callable[..., Any], route: dict[str, Any], needs: str
) -> None:
    app = FastAPI()

    with pytest.raises(TypeError, match=needs):
        app.router.add_api_route(
            "/buy", endpoint, methods=["POST"], route_class_override=JsonBodyRoute, **route
        )


@pytest.mark.parametrize(
    "content",
    [b'{"item": "tea", "quantity": 2}', b'{"item": "' + b"t" * 64 + b'", "quantity": 2}'],
    ids=["under", "over"],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
async def test_a_body_over_max_body_size_is_fastapis_413(content: bytes, chunked: bool) -> None:
    async def chunks() -> Any:
        for at in range(0, len(content), 8):
            yield content[at : at + 8]

    body: Any = chunks if chunked else (lambda: content)
    answers = []
    for route_class in (JsonBodyRoute, None):
        app = app_with(route_class, max_body_size=48)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers.append(await client.post("/buy", content=body(), headers=JSON))
    fast, plain = answers

    assert fast.status_code == (413 if len(content) > 48 else 200)
    assert (fast.status_code, fast.content) == (plain.status_code, plain.content)


def test_the_servers_process_route_takes_the_fast_path() -> None:
    routes = [r for r in create_app().routes if getattr(r, "path", None) == "/process"]

    assert [type(r) for r in routes] == [JsonBodyRoute]
