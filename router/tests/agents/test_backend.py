import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from app.agents.backend import Backend
from app.core.clients import http_client
from app.core.errors import BackendError


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A real TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"
        for writer in held:
            writer.close()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_server_that_never_answers_times_out_within_the_setting(
    silent_server: str, transport: str
) -> None:
    make = http_client if transport == "aiohttp" else httpx.AsyncClient  # the router's is aiohttp
    async with make(base_url=silent_server, timeout=0.3) as client:
        backend = Backend(client)
        started = time.monotonic()

        with pytest.raises(BackendError, match="timed out"):
            await backend.reply_for("hi", request_id="r1")

    assert time.monotonic() - started < 2


async def test_an_unreachable_server_is_a_backend_error() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1) as client:
        with pytest.raises(BackendError, match="unreachable"):
            await Backend(client).reply_for("hi", request_id="r1")

        assert await Backend(client).is_up() is False
