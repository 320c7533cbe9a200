"""What one outbound HTTP call costs the Router in CPU, by the client that makes it.

Every reply costs the Router two calls: the Server's `POST /process` (httpx, a prebuilt request on
aiohttp's transport) and the Graph API's `POST /messages` (PyWA on a GraphSession over the shared
aiohttp pool, app/outbound/). This sends each many times, 32 at once, to a minimal stand-in in
another process, and prints this process's CPU per call next to PyWA's send on httpx (on aiohttp's
transport, what the Router used before) and a bare aiohttp POST of the same body: the floor for any
Python client here. Run: `cd router && uv run python -m bench.clients`.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import uvloop
from pywa_async.client import WhatsApp

from app.agents.backend import Backend
from app.core.clients import http_client
from app.outbound.whatsapp_clients import whatsapp_clients
from tests.conftest import make_settings
from tests.support import free_port, stop, wait_healthy

CALLS = 4000
WARM_UP = 300
CONCURRENCY = 32
PHONE_NUMBER_ID = "123456"

# The stand-in: answers /process and the Graph API's send as the real ones do, nothing more.
STAND_IN = """
import sys
from aiohttp import web

async def process(request):
    text = (await request.json())["text"]
    return web.json_response({"original": text, "reply": text})

async def send(request):
    await request.read()
    return web.json_response({"messaging_product": "whatsapp",
        "contacts": [{"input": "15550001234", "wa_id": "15550001234"}],
        "messages": [{"id": "wamid.bench"}]})

async def health(request):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_get("/health", health)
app.router.add_post("/process", process)
app.router.add_post("/{version}/{phone}/messages", send)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def cpu_per_call(call: Callable[[], Awaitable[object]]) -> float:
    """This process's CPU milliseconds per call, with CONCURRENCY calls in flight."""
    for _ in range(WARM_UP):
        await call()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with gate:
            await call()

    before = time.process_time()
    await asyncio.gather(*(one() for _ in range(CALLS)))
    return 1000 * (time.process_time() - before) / CALLS


async def measure(base_url: str) -> list[tuple[str, float]]:
    settings = make_settings(
        server_base_url=base_url,
        whatsapp_graph_api_url=base_url,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
    )
    body = json.dumps(
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "15550001234",
            "type": "text",
            "text": {"body": "a reply", "preview_url": False},
        }
    ).encode()
    async with (
        http_client(base_url=base_url, timeout=10) as server_client,
        http_client(timeout=10) as graph_client,
        whatsapp_clients(settings) as clients,
        aiohttp.ClientSession(base_url) as bare,
    ):
        backend = Backend(server_client)
        token = settings.whatsapp_access_token.get_secret_value()
        on_httpx = WhatsApp(
            phone_id=PHONE_NUMBER_ID,
            token=token,
            session=graph_client,
            api_version=settings.whatsapp_graph_api_version,
            validate_updates=False,
        )
        graph_client.base_url = httpx.URL(settings.graph_api_base_url)

        async def server_call() -> object:
            return await backend.reply_for("hello", request_id="bench")

        async def pywa_on_httpx() -> object:
            return await on_httpx.send_message(to="15550001234", text="a reply")

        async def pywa_send() -> object:
            # Looked up per call, as the Sender does.
            whatsapp = clients.for_number(PHONE_NUMBER_ID, token)
            return await whatsapp.send_message(to="15550001234", text="a reply")

        async def bare_post() -> object:
            async with bare.post(
                f"/v{settings.whatsapp_graph_api_version}/{PHONE_NUMBER_ID}/messages",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            ) as response:
                return await response.read()

        return [
            (
                "the Server's /process (Backend: httpx on aiohttp's transport)",
                await cpu_per_call(server_call),
            ),
            (
                "a Graph API send (PyWA: GraphSession on the shared aiohttp pool)",
                await cpu_per_call(pywa_send),
            ),
            (
                "the same send, PyWA on httpx on aiohttp's transport (before)",
                await cpu_per_call(pywa_on_httpx),
            ),
            ("the same send as a bare aiohttp POST (the floor)", await cpu_per_call(bare_post)),
        ]


def main() -> int:
    port = free_port()
    stand_in = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", STAND_IN, str(port)], start_new_session=True
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, stand_in, timeout=20)
        rows = uvloop.run(measure(base_url))
    finally:
        stop(stand_in)
    print(
        f"{CALLS} calls each, {CONCURRENCY} in flight; this process's CPU per call, "
        f"{os.cpu_count()} cores"
    )
    for name, ms in rows:
        print(f"  {ms:6.3f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
