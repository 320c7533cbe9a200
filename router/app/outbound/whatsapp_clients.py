"""PyWA clients per WhatsApp number, all on one aiohttp connection pool for the process."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import cast

import aiohttp
import httpx
from pywa_async.client import WhatsApp

from app.outbound.graph_session import GraphSession
from app.settings import Settings

# Every channel's sends share these connections (one host: the Graph API).
MAX_CONNECTIONS = 256
# Clients kept built; a number beyond it only costs building its client again.
MAX_CLIENTS = 4096


class WhatsAppClients:
    """`for_number(phone_number_id, access_token)`: that number's PyWA client, built once.

    A client is cached per number and token, so a rotated token gets a new client (the old one
    ages out of the cache). Clients own no connections: closing the pool is all there is to close.
    """

    def __init__(
        self,
        pool: aiohttp.ClientSession,
        base_url: str,
        api_version: str,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self._pool = pool
        self._base_url = base_url
        self._api_version = api_version
        self._cached = lru_cache(maxsize=max_clients)(self._build)

    def for_number(self, phone_number_id: str, access_token: str) -> WhatsApp:
        return self._cached(phone_number_id, access_token)

    def _build(self, phone_number_id: str, access_token: str) -> WhatsApp:
        session = GraphSession(self._pool, self._base_url)
        whatsapp = WhatsApp(
            phone_id=phone_number_id,
            token=access_token,
            # PyWA's annotation says httpx; GraphSession is the part of it PyWA uses.
            session=cast(httpx.AsyncClient, session),
            api_version=self._api_version,
            validate_updates=False,  # the webhook checks signatures itself, before parsing
        )
        # PyWA points the session at Meta's production host in its constructor; this is the one
        # place that sends every Graph API call to WHATSAPP_GRAPH_API_URL instead (the simulator,
        # a test's stand-in, or Meta's host itself).
        session.base_url = self._base_url
        return whatsapp


@asynccontextmanager
async def whatsapp_clients(
    settings: Settings, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> AsyncIterator[WhatsAppClients]:
    """The clients over a pool opened here and closed on exit; `trace_configs` trace its sends
    (with traces on: app/observability/tracing.py)."""
    timeout = settings.whatsapp_send_timeout_seconds
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        ssl=httpx.create_ssl_context(),  # the same certificates as the Server's client (certifi)
    )
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        trace_configs=list(trace_configs) or None,
    ) as pool:
        yield WhatsAppClients(
            pool, settings.graph_api_base_url, settings.whatsapp_graph_api_version
        )
