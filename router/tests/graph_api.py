"""The Graph API for in-process router tests: a real HTTP server in the test's event loop.

The router's Graph API calls leave through aiohttp (app/outbound/graph_session.py), where respx
cannot see them, so tests answer them from a real local server: PyWA, the session, the pool and the
socket all run as in production. The stand-in reads like a respx route: it records each request as
an `httpx.Request` (`calls`, `call_count`, `called`) and answers with `httpx.Response`s given by
`mock(side_effect=..., return_value=...)`; a side effect may be a coroutine function, so an answer
can wait for the test to do something first.
"""

import asyncio
import itertools
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import httpx
from aiohttp import web

from .meta import WA_ID


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


# Bound once per test run and kept, so the Graph API's URL is a constant that every test's settings
# can name, and no other process can take the port between two tests; each test serves its own
# stand-in on it (a duplicate of the socket, closed with the stand-in).
SOCKET = _listening_socket()
URL = f"http://127.0.0.1:{SOCKET.getsockname()[1]}"


class Stall:
    """An answer that never comes: the router's send times out."""


STALL = Stall()

Answer: TypeAlias = httpx.Response | Stall
Responder: TypeAlias = Callable[[httpx.Request], Answer | Awaitable[Answer]]


def accepted(wamid: str, to: str = WA_ID) -> httpx.Response:
    """The Graph API's answer to an accepted send, as Meta gives it."""
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": WA_ID}],
            "messages": [{"id": wamid}],
        },
    )


def meta_error(status: int, code: int, message: str, **fields: Any) -> httpx.Response:
    """A Graph API refusal in Meta's shape."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}
    return httpx.Response(status, json={"error": {**error, **fields}})


def no_media(request: httpx.Request) -> httpx.Response | None:
    """Meta's refusal of a media URL lookup (`GET /{media_id}`) for a media id it does not have: a
    test that does not serve files answers the router's fetch of one so."""
    if request.method == "GET":
        return meta_error(400, 100, "Unsupported get request")
    return None


def accepting_sends() -> Responder:
    """Accept every send, with wamids wamid.sent1, wamid.sent2, ...; no media to fetch."""
    counter = itertools.count(1)

    def send(request: httpx.Request) -> httpx.Response:
        if (refused := no_media(request)) is not None:
            return refused
        payload = json.loads(request.content)
        return accepted(f"wamid.sent{next(counter)}", payload.get("to") or payload.get("recipient"))

    return send


@dataclass(frozen=True)
class Call:
    request: httpx.Request
    response: httpx.Response | None  # None: stalled
    connection: str  # the client's (address, port): one per TCP connection


class Calls(list[Call]):
    @property
    def last(self) -> Call:
        return self[-1]


class GraphApi:
    def __init__(self) -> None:
        self.calls = Calls()
        self.failures: list[str] = []  # requests the test gave no answer for
        self._answer: Responder = accepting_sends()
        self._runner: web.ServerRunner | None = None

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def sends(self) -> Calls:
        """The calls that send a message (`POST /{phone_number_id}/messages`), not the media
        calls an inbound file's fetch makes."""
        return Calls(
            c
            for c in self.calls
            if c.request.method == "POST" and c.request.url.path.endswith("/messages")
        )

    @property
    def called(self) -> bool:
        return bool(self.calls)

    def mock(
        self,
        side_effect: Responder | Iterable[Answer] | None = None,
        return_value: httpx.Response | None = None,
    ) -> "GraphApi":
        """Answer with `side_effect` (a function of the request, or answers in turn) or always
        with `return_value`, as respx's `Route.mock` does."""
        if callable(side_effect):
            self._answer = side_effect
        elif side_effect is not None:
            self._answer = _in_turn(iter(side_effect))
        elif return_value is not None:
            answer = return_value
            self._answer = lambda _: answer
        return self

    async def start(self) -> None:
        # Cancelled on disconnect: a stalled answer ends when the router gives up on it.
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=1)
        await self._runner.setup()
        await web.SockSite(self._runner, SOCKET.dup()).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, incoming: web.BaseRequest) -> web.StreamResponse:
        transport = incoming.transport
        connection = str(transport.get_extra_info("peername") if transport else None)
        request = httpx.Request(
            incoming.method,
            str(incoming.url),
            headers=list(incoming.headers.items()),
            content=await incoming.read(),
        )
        try:
            result = self._answer(request)
            answer = result if isinstance(result, httpx.Response | Stall) else await result
        except Exception as exc:
            self.failures.append(f"{request.method} {request.url}: {exc!r}")
            raise
        if isinstance(answer, Stall):
            self.calls.append(Call(request, None, connection))
            await asyncio.Event().wait()  # until the router hangs up
        assert isinstance(answer, httpx.Response)
        self.calls.append(Call(request, answer, connection))
        headers = {"Content-Type": answer.headers["content-type"]} if answer.content else {}
        return web.Response(status=answer.status_code, body=answer.content, headers=headers)


def _in_turn(answers: Iterator[Answer]) -> Responder:
    def next_answer(request: httpx.Request) -> Answer:
        try:
            return next(answers)
        except StopIteration:
            raise AssertionError("the test gave no answer for this request") from None

    return next_answer
