"""`POST /process`, and any write endpoint the Server gains, answers any body with a 2xx or a 4xx
that names the problem, never a 5xx (tests/hostile_bodies.py says what each answer must be)."""

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app

from .hostile_bodies import BODIES, Body, Operation, any_body, one_connection, served, wrong_answer
from .hostile_bodies import write_operations as openapi_writes

OPERATIONS = openapi_writes(create_app().openapi())


async def answer(client: httpx.AsyncClient, operation: Operation, body: Body) -> httpx.Response:
    return await client.request(
        operation.method, operation.path, content=body.content, headers=body.headers()
    )


def test_the_walk_finds_process() -> None:
    assert [str(o) for o in OPERATIONS if o.takes_json] == ["POST /process"]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.name)
async def test_every_write_endpoint_answers_a_bad_body_with_a_4xx(
    client: httpx.AsyncClient, body: Body
) -> None:
    wrong = {}
    for operation in OPERATIONS:
        response = await answer(client, operation, body)
        if (problem := wrong_answer(operation, body, response)) is not None:
            wrong[str(operation)] = problem

    assert wrong == {}


async def test_a_415_and_a_413_say_what_is_wrong(client: httpx.AsyncClient) -> None:
    binary = await client.post(
        "/process", content=b"\xff\xfe", headers={"Content-Type": "text/plain"}
    )
    large = await client.post("/process", json={"text": "x" * 1024 * 1024})

    assert binary.status_code == 415
    assert binary.headers["accept-post"] == "application/json"
    assert binary.json() == {
        "detail": "this endpoint takes application/json; the request has Content-Type 'text/plain'"
    }
    assert large.status_code == 413
    assert large.json() == {"detail": "the body is over 1048576 bytes"}


async def test_the_connection_serves_the_next_request_after_a_bad_body() -> None:
    json = {"Content-Type": "application/json"}
    async with served(create_app()) as (host, port):
        statuses = await one_connection(
            host,
            port,
            [
                ("POST", "/process", {"Content-Type": "application/octet-stream"}, b"\xff" * 64),
                ("POST", "/process", json, b"\xff\xfe"),
                ("POST", "/process", json, b'"\\ud800"'),
                ("POST", "/process", json, b'{"text": "hi"}'),
            ],
        )

    assert statuses == [415, 400, 422, 200]


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operation=st.sampled_from(OPERATIONS), body=any_body())
async def test_any_body_is_answered_without_a_5xx(
    client: httpx.AsyncClient, operation: Operation, body: Body
) -> None:
    response = await answer(client, operation, body)

    assert wrong_answer(operation, body, response) is None
