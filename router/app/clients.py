"""The Router's two HTTP clients: PyWA's for the Graph API, and the Server's."""

from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from pywa_async.client import WhatsApp

from app.settings import Settings

POOL = httpx.Limits(max_connections=256, max_keepalive_connections=64)


def build_whatsapp(settings: Settings, client: httpx.AsyncClient) -> WhatsApp:
    """PyWA's async client on our httpx client, pointed at `WHATSAPP_GRAPH_API_URL`."""
    whatsapp = WhatsApp(
        phone_id=settings.whatsapp_phone_number_id,
        token=settings.whatsapp_access_token.get_secret_value(),
        session=client,
        api_version=settings.whatsapp_graph_api_version,
        validate_updates=False,  # the webhook checks signatures itself, before parsing
    )
    # PyWA sets the client's base URL to Meta's production host in its constructor; this is the
    # one place that sends every Graph API call elsewhere (the simulator, a test's stand-in).
    client.base_url = httpx.URL(settings.graph_api_base_url)
    return whatsapp


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    # httpx's own pool stalls at a few hundred requests/s under concurrency; aiohttp's does not.
    return httpx.AsyncClient(transport=AiohttpTransport(limits=POOL), **kwargs)
