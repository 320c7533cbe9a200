"""A small Server-Sent Events client for the tests: reads `id:`, `event:` and `data:` lines."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SseEvent:
    id: str | None
    event: str | None
    data: dict[str, Any]


class SseStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> SseEvent:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if "data" in fields:
                    return SseEvent(
                        fields.get("id"), fields.get("event"), json.loads(fields["data"])
                    )
                fields = {}
                continue
            if line.startswith(":"):
                continue  # a keep-alive comment
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")


@asynccontextmanager
async def sse(
    client: httpx.AsyncClient, path: str = "/api/v1/events", **kwargs: Any
) -> AsyncIterator[SseStream]:
    async with client.stream("GET", path, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseStream(response)
