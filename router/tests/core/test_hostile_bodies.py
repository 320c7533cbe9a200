"""Every write endpoint answers any body with a 2xx or a 4xx that names the problem, never a 5xx
(tests/hostile_bodies.py says what each answer must be). The endpoints come from the OpenAPI
document, `POST /webhook` (served beside it) signed as Meta signs."""

import dataclasses
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app

from ..conftest import ADMIN_KEY, APP_SECRET, RouterUnderTest, make_settings, openapi_document
from ..hostile_bodies import BODIES, Body, Operation, any_body, one_connection, served
from ..hostile_bodies import write_operations as openapi_writes
from ..hostile_bodies import wrong_answer as wrong_for_json
from ..meta import sign

WEBHOOK = Operation("POST", "/webhook", takes_json=False)
OPENAPI = openapi_document()
OPERATIONS = [*openapi_writes(OPENAPI), WEBHOOK]
# The endpoints that take a file too, as a multipart form (app/media/uploads.py): a multipart body
# is theirs to read (any 4xx for a bad one), and their 415 names both types they take.
MULTIPART = "multipart/form-data"
TAKES_FILES = {
    str(operation)
    for operation in openapi_writes(OPENAPI)
    for path, methods in OPENAPI["paths"].items()
    for method, described in methods.items()
    if operation.method == method.upper()
    and operation.path == re.sub(r"\{[^}]+\}", "1", path)
    and MULTIPART in described.get("requestBody", {}).get("content", {})
}
BOTH = f"application/json, {MULTIPART}"


def wrong_answer(operation: Operation, body: Body, response: httpx.Response) -> str | None:
    """hostile_bodies.wrong_answer, for an endpoint that takes a file as it does for JSON."""
    if str(operation) not in TAKES_FILES:
        return wrong_for_json(operation, body, response)
    if (body.content_type or "").lower().startswith("multipart/"):
        body = dataclasses.replace(body, expected=None)
    if response.status_code == 415:
        if response.headers.get("accept-post") != BOTH:
            return f"415 without Accept-Post: {BOTH}: {dict(response.headers)}"
        headers = {**response.headers, "accept-post": "application/json"}
        response = httpx.Response(415, headers=headers, content=response.content)
    return wrong_for_json(operation, body, response)


async def answer(router: RouterUnderTest, operation: Operation, body: Body) -> httpx.Response:
    headers = {"X-API-Key": ADMIN_KEY, **body.headers()}
    if operation is WEBHOOK:
        headers["X-Hub-Signature-256"] = sign(APP_SECRET, body.content)
    return await router.client.request(
        operation.method, operation.path, content=body.content, headers=headers
    )


def test_the_walk_finds_the_write_endpoints() -> None:
    found = {str(o) for o in OPERATIONS}

    assert {"POST /api/v1/members", "PATCH /api/v1/agents/1", "POST /webhooks/inbound"} <= found
    assert {
        "POST /api/v1/messages",
        "POST /api/v1/conversations/1/messages",
        "POST /conversations/1/messages",
    } == TAKES_FILES
    assert sum(o.takes_json for o in OPERATIONS) >= 15


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.name)
async def test_every_write_endpoint_answers_a_bad_body_with_a_4xx(
    router: RouterUnderTest, body: Body
) -> None:
    wrong = {}
    for operation in OPERATIONS:
        response = await answer(router, operation, body)
        if (problem := wrong_answer(operation, body, response)) is not None:
            wrong[str(operation)] = problem

    assert wrong == {}


async def test_a_415_names_the_type_the_endpoint_takes(router: RouterUnderTest) -> None:
    post = await router.admin(
        "POST", "/api/v1/members", content=b"\xff\xfe", headers={"Content-Type": "image/png"}
    )
    patch = await router.admin(
        "PATCH", "/api/v1/members/1", content=b"\xff", headers={"Content-Type": "text/plain"}
    )

    assert post.status_code == 415
    assert post.headers["accept-post"] == "application/json"
    assert post.json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": "this endpoint takes application/json; the request has Content-Type "
            "'image/png'",
        }
    }
    assert patch.status_code == 415
    assert patch.headers["accept-patch"] == "application/json"


async def test_json_that_does_not_parse_is_a_400_that_says_where(router: RouterUnderTest) -> None:
    response = await router.admin(
        "POST",
        "/api/v1/members",
        content=b'{"name": "a",',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_body",
        "message": "the body is not JSON: expecting property name enclosed in double quotes "
        "at position 13",
    }


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
async def test_a_body_over_a_mebibyte_is_a_413_in_the_error_shape(
    router: RouterUnderTest, chunked: bool
) -> None:
    content = b'{"name": "' + b"x" * 1024 * 1024 + b'", "role": "agent"}'

    async def chunks() -> Any:
        for at in range(0, len(content), 65536):
            yield content[at : at + 65536]

    response = await router.admin(
        "POST",
        "/api/v1/members",
        content=chunks() if chunked else content,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "body_too_large", "message": "the body is over 1048576 bytes"}
    }


async def test_a_422_echoes_an_input_only_when_it_is_short_and_printable(
    router: RouterUnderTest,
) -> None:
    response = await router.admin(
        "POST",
        "/api/v1/members",
        json={"name": "x" * 300, "role": "chief", "email": "\u0007bell"},
    )

    assert response.status_code == 422
    errors = {error["loc"][-1]: error for error in response.json()["detail"]}
    assert "input" not in errors["name"]  # too long
    assert errors["role"]["input"] == "chief"
    assert "input" not in errors["email"]  # does not print


def test_every_json_body_declares_400_413_and_415() -> None:
    openapi = openapi_document()
    operations = [
        operation
        for methods in openapi["paths"].values()
        for operation in methods.values()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]

    assert operations
    for operation in operations:
        assert {"400", "413", "415"} <= set(operation["responses"]), operation["operationId"]


async def test_the_connection_serves_the_next_request_after_a_bad_body() -> None:
    app = create_app(make_settings())
    key = {"X-API-Key": ADMIN_KEY}
    async with served(app) as (host, port):
        statuses = await one_connection(
            host,
            port,
            [
                ("POST", "/api/v1/members", {**key, "Content-Type": "image/png"}, b"\xff" * 100),
                ("POST", "/api/v1/members", {**key, "Content-Type": "application/json"}, b"\xff"),
                ("POST", "/api/v1/members", {**key, "Content-Type": "application/json"}, b"[]"),
                ("GET", "/api/v1/members", key, b""),
            ],
        )

    assert statuses == [415, 400, 422, 200]


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=st.sampled_from(OPERATIONS), body=any_body())
async def test_any_body_at_any_write_endpoint_is_answered_without_a_5xx(
    router: RouterUnderTest, operation: Operation, body: Body
) -> None:
    response = await answer(router, operation, body)

    assert wrong_answer(operation, body, response) is None
