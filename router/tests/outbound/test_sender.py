"""GraphSender's reading of the Graph API's answers, over the real client path to a real server."""

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.core.errors import SendFailed, SendRetryable
from app.outbound.ratelimit import SendRateLimiter, storage_for
from app.outbound.sender import GraphSender
from app.outbound.whatsapp_clients import whatsapp_clients

from ..conftest import ACCESS_TOKEN, make_settings
from ..graph_api import STALL, Answer, GraphApi, accepted, meta_error
from ..meta import PHONE_NUMBER_ID, WA_ID
from ..support import free_port


@asynccontextmanager
async def sender_with(**settings: Any) -> AsyncIterator[GraphSender]:
    configured = make_settings(**settings)
    limiter = SendRateLimiter(storage_for("memory://"), 1000)
    try:
        async with whatsapp_clients(configured) as clients:
            yield GraphSender(clients, limiter, configured.whatsapp_access_token)
    finally:
        await limiter.aclose()


@pytest.fixture
async def sender(graph_route: GraphApi) -> AsyncIterator[GraphSender]:
    async with sender_with(whatsapp_send_timeout_seconds=0.5) as under_test:
        yield under_test


async def test_a_send_returns_metas_wamid(sender: GraphSender, graph_route: GraphApi) -> None:
    graph_route.mock(return_value=accepted("wamid.out.1"))

    assert await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1") == "wamid.out.1"
    assert graph_route.calls.last.request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_a_numbers_own_token_is_used_when_given(
    sender: GraphSender, graph_route: GraphApi
) -> None:
    await sender.send_text("2223334445", WA_ID, "hi", "tracker.1", access_token="channel-token")

    request = graph_route.calls.last.request
    assert request.url.path.endswith("/2223334445/messages")
    assert request.headers["authorization"] == "Bearer channel-token"


async def test_a_quote_goes_out_as_metas_context(
    sender: GraphSender, graph_route: GraphApi
) -> None:
    graph_route.mock(return_value=accepted("wamid.out.2"))

    await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1", quote="wamid.in.3")
    await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.2")

    first, second = (json.loads(call.request.content) for call in graph_route.calls)
    assert first["context"] == {"message_id": "wamid.in.3"}
    assert "context" not in second


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500),
        httpx.Response(503, text="upstream down"),
        meta_error(429, 130429, "Rate limit hit"),
        meta_error(400, 131056, "Pair rate limit hit"),
        meta_error(400, 131000, "Something went wrong"),
        meta_error(400, 135000, "Generic user error", is_transient=True),
    ],
    ids=["500", "503-text", "130429", "131056", "131000", "is_transient"],
)
async def test_what_passes_is_retryable(
    sender: GraphSender, graph_route: GraphApi, answer: Answer
) -> None:
    graph_route.mock(side_effect=[answer])

    with pytest.raises(SendRetryable):
        await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1")


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (400, 131047, "Re-engagement message"),
        (400, 131026, "Message undeliverable"),
        (400, 100, "Invalid parameter"),
        (401, 190, "Invalid OAuth access token"),
    ],
)
async def test_metas_final_word_fails_with_its_code_and_title(
    sender: GraphSender, graph_route: GraphApi, status: int, code: int, title: str
) -> None:
    graph_route.mock(return_value=meta_error(status, code, title))

    with pytest.raises(SendFailed) as raised:
        await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1")

    assert (raised.value.error_code, raised.value.title) == (code, title)


async def test_a_timeout_is_retryable_within_the_setting(
    sender: GraphSender, graph_route: GraphApi
) -> None:
    graph_route.mock(side_effect=[STALL])
    started = time.monotonic()

    with pytest.raises(SendRetryable, match=r"unreachable \(.*Timeout"):
        await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1")

    assert time.monotonic() - started < 3  # the setting is 0.5 s
    assert graph_route.call_count == 1


async def test_a_graph_api_that_refuses_connections_is_retryable() -> None:
    async with sender_with(whatsapp_graph_api_url=f"http://127.0.0.1:{free_port()}") as sender:
        with pytest.raises(SendRetryable, match="unreachable"):
            await sender.send_text(PHONE_NUMBER_ID, WA_ID, "hi", "tracker.1")
