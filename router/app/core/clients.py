"""The Server's HTTP client. (The Graph API's clients are in app/outbound/whatsapp_clients.py.)"""

from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from app.core.costs import COSTS

POOL = httpx.Limits(max_connections=256, max_keepalive_connections=64)


async def _count(_: httpx.Request) -> None:
    COSTS.http_requests += 1


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    # httpx's own pool stalls at a few hundred requests/s under concurrency; aiohttp's does not.
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=POOL), event_hooks={"request": [_count]}, **kwargs
    )
