"""A real HTTP server standing in for the Router's webhook, run by uvicorn in the test's loop."""

import asyncio
import contextlib
import hashlib
import hmac
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    def signature_ok(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return self.headers.get("x-hub-signature-256") == expected


OnBody = Callable[[bytes], Awaitable[None]]


@dataclass
class Receiver:
    verify_token: str
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # Status codes to answer with, in order; 200 once it is empty.
    plan: deque[int] = field(default_factory=deque)
    on_body: OnBody | None = None

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.received]


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        receiver.received.append(Received(body=body, headers=dict(request.headers)))
        status = receiver.plan.popleft() if receiver.plan else 200
        if status == 200 and receiver.on_body is not None:
            await receiver.on_body(body)
        return Response(status_code=status)

    @app.get("/webhook")
    async def verify(request: Request) -> Response:
        params = request.query_params
        if params.get("hub.mode") == "subscribe" and params.get("hub.verify_token") == (
            receiver.verify_token
        ):
            return Response(params.get("hub.challenge", ""), media_type="text/plain")
        return Response("forbidden", status_code=403)

    return app


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app on a free loopback port for the duration; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
