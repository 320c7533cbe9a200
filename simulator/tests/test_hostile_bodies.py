"""Every write endpoint of the Simulator (its control API, and the Graph API it stands in for)
answers any body with a 2xx or a 4xx that names the problem, never a 5xx (tests/hostile_bodies.py
says what each answer must be). The endpoints come from the OpenAPI document."""

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app

from .conftest import AUTH
from .hostile_bodies import BODIES, Body, Operation, any_body, one_connection, served, wrong_answer
from .hostile_bodies import write_operations as openapi_writes


@pytest.fixture
def operations(settings_env: None) -> list[Operation]:
    return openapi_writes(create_app().openapi())


async def answer(client: httpx.AsyncClient, operation: Operation, body: Body) -> httpx.Response:
    return await client.request(
        operation.method, operation.path, content=body.content, headers={**AUTH, **body.headers()}
    )


def test_the_walk_finds_the_control_api_and_the_graph_api(operations: list[Operation]) -> None:
    found = {str(o) for o in operations}

    assert {"POST /sim/users", "POST /1/1/messages", "POST /sim/webhooks/raw"} <= found


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.name)
async def test_every_write_endpoint_answers_a_bad_body_with_a_4xx(
    client: httpx.AsyncClient, operations: list[Operation], body: Body
) -> None:
    wrong = {}
    for operation in operations:
        response = await answer(client, operation, body)
        if (problem := wrong_answer(operation, body, response)) is not None:
            wrong[str(operation)] = problem

    assert wrong == {}


async def test_a_415_names_the_type_the_endpoint_takes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/sim/users", content=b"\x89PNG\r\n\x1a\n\xff", headers={"Content-Type": "image/png"}
    )

    assert response.status_code == 415
    assert response.headers["accept-post"] == "application/json"
    assert "application/json" in response.json()["detail"]


async def test_the_connection_serves_the_next_request_after_a_bad_body(settings_env: None) -> None:
    json = {"Content-Type": "application/json"}
    async with served(create_app()) as (host, port):
        statuses = await one_connection(
            host,
            port,
            [
                ("POST", "/sim/users", {"Content-Type": "text/plain"}, b"\xff\xfe"),
                ("POST", "/sim/users", json, b"\xff"),
                ("POST", "/sim/users", json, b'{"name": "Dana"}'),
            ],
        )

    assert statuses == [415, 400, 201]


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), body=any_body())
async def test_any_body_is_answered_without_a_5xx(
    client: httpx.AsyncClient, operations: list[Operation], data: st.DataObject, body: Body
) -> None:
    operation = data.draw(st.sampled_from(operations))
    response = await answer(client, operation, body)

    assert wrong_answer(operation, body, response) is None
