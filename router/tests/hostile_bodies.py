"""Bodies a careless or hostile client sends, and what every write endpoint must answer to them.

One file kept in the Server's, the Router's and the Simulator's tests (test_shared_files.py holds
the copies equal). The endpoints are read from the service's OpenAPI document, so a new endpoint is
covered without editing a test. What every answer must be (bodies.py):

- never a 5xx;
- a body the endpoint cannot take as JSON (another content type, or none): 415, naming the type it
  takes in `Accept-Post` / `Accept-Patch`;
- JSON that does not parse, or bytes that are not UTF-8, labelled JSON: 400;
- an error's body is JSON that says what is wrong.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import h11
import httpx
import uvicorn
from hypothesis import strategies as st

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
BINARY = b"\xff\xfe\x00\x80A\xc3\x28\xed\xa0\x80"
MULTIPART_FILE = (
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n" + BINARY + b"\r\n--xyz--\r\n"
)


@dataclass(frozen=True)
class Body:
    name: str
    content_type: str | None
    content: bytes
    # What an endpoint that takes JSON answers: 415 (cannot take it as JSON), 400 (not JSON),
    # None (it may parse: any 2xx or 4xx).
    expected: int | None

    def headers(self) -> dict[str, str]:
        return {} if self.content_type is None else {"Content-Type": self.content_type}


BODIES = [
    Body("octet-stream", "application/octet-stream", BINARY, 415),
    Body("text-plain-binary", "text/plain", b"\xff\xfe", 415),
    Body("text-plain-json", "text/plain; charset=utf-8", b'{"text": "hi"}', 415),
    Body("png", "image/png", PNG, 415),
    Body("multipart-with-boundary", "multipart/form-data; boundary=xyz", MULTIPART_FILE, 415),
    Body("multipart-without-boundary", "multipart/form-data", MULTIPART_FILE, 415),
    Body("form-bad-escapes", "application/x-www-form-urlencoded", b"a=%zz&b=%ff%fe&c=\xff", 415),
    Body("xml", "application/xml", b"<a>\xff</a>", 415),
    Body("no-content-type", None, BINARY, 415),
    Body("empty-content-type", "", BINARY, 415),
    Body("json-binary", "application/json", BINARY, 400),
    Body("json-truncated", "application/json", b'{"text": ', 400),
    Body("json-latin-1", "application/json; charset=latin-1", b'{"text": "caf\xe9"}', 400),
    Body(
        "json-utf-16", "application/json; charset=utf-16", '{"text": "hi"}'.encode("utf-16"), None
    ),
    Body("vendor-json-binary", "application/vnd.api+json", BINARY, 400),
    Body(
        "json-lone-surrogate", "application/json", b'{"text": "\\ud800", "name": "\\u0000"}', None
    ),
    Body(
        "json-control-characters",
        "application/json",
        b'{"text": 5, "name": "\\u0007\\u001b"}',
        None,
    ),
    Body("json-array", "application/json", b"[1, 2, 3]", None),
    # Python's json reads these constants, which no JSON has: an error must not echo them back.
    Body("json-non-finite", "application/json", b'{"text": NaN, "name": -Infinity}', None),
    Body("json-infinity", "application/json", b"Infinity", None),
]

CONTENT_TYPES = sorted({b.content_type for b in BODIES if b.content_type is not None})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the OpenAPI path with every parameter filled in
    takes_json: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def write_operations(openapi: dict[str, Any], fill: str = "1") -> list[Operation]:
    """Every POST, PUT and PATCH of the document, its path parameters set to `fill`."""
    return [
        Operation(
            method.upper(),
            re.sub(r"\{[^}]+\}", fill, path),
            "application/json" in operation.get("requestBody", {}).get("content", {}),
        )
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    ]


def wrong_answer(operation: Operation, body: Body, response: httpx.Response) -> str | None:
    """What is wrong with the answer to `body` at `operation`; None when it is right."""
    status = response.status_code
    if not (200 <= status < 300 or 400 <= status < 500):
        return f"{status}: {response.text[:200]!r}"
    # A 401, 403 or 404 may come first: a key refused, a path's object missing.
    if (
        operation.takes_json
        and body.expected is not None
        and status not in (body.expected, 401, 403, 404)
    ):
        return f"{status}, not {body.expected}: {response.text[:200]!r}"
    if status >= 400:
        try:
            said = json.loads(response.content)
        except ValueError:
            return f"{status} whose body is not JSON: {response.text[:200]!r}"
        if not said:
            return f"{status} that says nothing"
    if status == 415:
        accept = response.headers.get("accept-post") or response.headers.get("accept-patch")
        if accept != "application/json":
            return f"415 without Accept-Post/Accept-Patch: {dict(response.headers)}"
    return None


def any_body() -> st.SearchStrategy[Body]:
    """Random bodies under the content types above, any other, or none."""
    header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    content_type = st.sampled_from(CONTENT_TYPES) | st.none() | header_text
    content = (
        st.binary(min_size=1, max_size=300)
        | st.text(max_size=200).map(str.encode)
        | st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=10), inner, max_size=4)
            ),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode())
    )
    return st.builds(Body, st.just("random"), content_type, content, st.none())


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[tuple[str, int]]:
    """The app behind a real uvicorn on a free loopback port (its lifespan run); yields host and
    port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield server.servers[0].sockets[0].getsockname()[:2]
    finally:
        server.should_exit = True
        await task


def _request(method: str, path: str, headers: dict[str, str], content: bytes) -> Iterator[Any]:
    fields = [("Host", "test"), ("Content-Length", str(len(content))), *headers.items()]
    yield h11.Request(method=method, target=path, headers=fields)
    yield h11.Data(data=content)
    yield h11.EndOfMessage()


async def one_connection(
    host: str, port: int, requests: list[tuple[str, str, dict[str, str], bytes]]
) -> list[int]:
    """Sends the requests one after another on a single keep-alive connection; the status of each
    answer. Fails if the server closes the connection before the last answer."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    connection = h11.Connection(h11.CLIENT)
    statuses: list[int] = []
    try:
        for method, path, headers, content in requests:
            if connection.our_state is h11.DONE:
                connection.start_next_cycle()
            for event in _request(method, path, headers, content):
                writer.write(connection.send(event))
            await writer.drain()
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await asyncio.wait_for(reader.read(65536), 10)
                    assert data, f"the connection was closed after {statuses}"
                    connection.receive_data(data)
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
                elif isinstance(event, h11.EndOfMessage):
                    break
    finally:
        writer.close()
    return statuses
