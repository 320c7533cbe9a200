from collections.abc import Callable

import structlog
from fastapi import FastAPI
from structlog.testing import capture_logs

from tests.conftest import client_for


async def test_a_reply_is_logged_at_info_with_the_callers_request_id(
    app_at: Callable[[str], FastAPI],
) -> None:
    async with client_for(app_at("INFO")) as client:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            response = await client.post(
                "/process", json={"text": "Hello"}, headers={"X-Request-ID": "abc123"}
            )

    assert response.status_code == 200
    assert logs == [
        {
            "event": "process.replied",
            "log_level": "info",
            "text_length": 5,
            "request_id": "abc123",
        }
    ]


async def test_nothing_is_logged_per_request_above_info(app_at: Callable[[str], FastAPI]) -> None:
    async with client_for(app_at("WARNING")) as client:
        with capture_logs() as logs:
            response = await client.post("/process", json={"text": "Hello"})

    assert response.status_code == 200
    assert logs == []


async def test_a_request_without_an_id_gets_a_new_one_logged_and_sent_back(
    app_at: Callable[[str], FastAPI],
) -> None:
    async with client_for(app_at("INFO")) as client:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            first = await client.post("/process", json={"text": "a"})
            second = await client.post("/process", json={"text": "b"})

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]
    assert [entry["request_id"] for entry in logs] == ids


async def test_a_long_request_id_is_cut_to_128_characters(
    app_at: Callable[[str], FastAPI],
) -> None:
    async with client_for(app_at("INFO")) as client:
        response = await client.post(
            "/process", json={"text": "a"}, headers={"X-Request-ID": "x" * 500}
        )

    assert response.headers["x-request-id"] == "x" * 128


async def test_the_request_id_comes_back_on_errors_and_health_too(
    app_at: Callable[[str], FastAPI],
) -> None:
    async with client_for(app_at("INFO")) as client:
        invalid = await client.post(
            "/process", json={"text": 1}, headers={"X-Request-ID": "bad-body"}
        )
        health = await client.get("/health", headers={"X-Request-ID": "probe"})

    assert (invalid.status_code, invalid.headers["x-request-id"]) == (422, "bad-body")
    assert (health.status_code, health.headers["x-request-id"]) == (200, "probe")


async def test_an_id_that_cannot_travel_as_a_header_is_cleaned(
    app_at: Callable[[str], FastAPI],
) -> None:
    async with client_for(app_at("INFO")) as client:
        response = await client.post(
            "/process", json={"text": "a"}, headers=[(b"X-Request-ID", "réq\x01".encode())]
        )

    assert (response.status_code, response.headers["x-request-id"]) == (200, "rq")
