import re

import httpx
import pytest

REPLY = re.compile(
    r"^I received your message: '(?P<text>.*)' and here is a random number: (?P<n>\d+)$", re.S
)


async def test_process_echoes_the_text_in_the_assignment_format(client: httpx.AsyncClient) -> None:
    response = await client.post("/process", json={"text": "Hello"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"original", "reply"}
    assert body["original"] == "Hello"
    match = REPLY.match(body["reply"])
    assert match is not None, body["reply"]
    assert match["text"] == "Hello"


@pytest.mark.parametrize(
    "text", ["", "with 'quotes' and \"double\"", "שלום 👋", "line\nbreak", "x" * 5000]
)
async def test_process_echoes_any_text_unchanged(client: httpx.AsyncClient, text: str) -> None:
    response = await client.post("/process", json={"text": text})

    assert response.status_code == 200
    body = response.json()
    assert body["original"] == text
    match = REPLY.match(body["reply"])
    assert match is not None
    assert match["text"] == text


async def test_process_draws_a_fresh_number_each_call(client: httpx.AsyncClient) -> None:
    numbers = set()
    for _ in range(30):
        reply = (await client.post("/process", json={"text": "hi"})).json()["reply"]
        match = REPLY.match(reply)
        assert match is not None
        numbers.add(int(match["n"]))

    # 30 draws from 1..1000 all landing on one value has probability 1e-87.
    assert len(numbers) > 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": None},
        {"text": 42},
        {"text": ["a"]},
        {"message": "hi"},
        [],
        "text",
    ],
)
async def test_process_rejects_invalid_bodies_with_422(
    client: httpx.AsyncClient, payload: object
) -> None:
    response = await client.post("/process", json=payload)

    assert response.status_code == 422
    assert response.json()["detail"]


async def test_process_rejects_malformed_json_with_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/process", content=b'{"text": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "the body is not JSON: expecting value at position 9"}


async def test_process_passes_the_request_id_back(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/process", json={"text": "hi"}, headers={"X-Request-ID": "abc123"}
    )

    assert response.headers["x-request-id"] == "abc123"


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
