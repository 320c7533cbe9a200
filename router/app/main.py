"""The Router: receives Meta's webhooks, asks the Server for replies and sends them with PyWA."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pywa_async.client import WhatsApp

from app.backend import Backend
from app.deps import BackendDep
from app.dispatch import Dispatcher, RecentIds
from app.errors import install_error_handlers
from app.logs import RequestIdMiddleware, configure_logging
from app.pipeline import Pipeline
from app.sender import Sender
from app.settings import Settings, SettingsError, load_settings
from app.webhook import router as webhook_router

log = structlog.get_logger()

SHUTDOWN_GRACE_SECONDS = 10.0


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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.whatsapp_app_secret is None:
            log.warning(
                "webhook.signatures_disabled",
                detail="ROUTER_ALLOW_UNSIGNED_WEBHOOKS is on: anyone can post to /webhook. "
                "Never run this way in production.",
            )
        async with (
            httpx.AsyncClient(
                base_url=str(settings.server_base_url),
                timeout=settings.server_timeout_seconds,
            ) as server_client,
            httpx.AsyncClient(timeout=settings.whatsapp_send_timeout_seconds) as graph_client,
        ):
            whatsapp = build_whatsapp(settings, graph_client)
            backend = Backend(server_client)
            dispatcher = Dispatcher()
            pipeline = Pipeline(
                backend=backend,
                sender=Sender(whatsapp, settings.whatsapp_phone_number_id),
                dispatcher=dispatcher,
                seen=RecentIds(),
            )
            log.info(
                "router.started",
                graph_api=settings.graph_api_base_url,
                server=str(settings.server_base_url),
            )
            yield {"settings": settings, "pipeline": pipeline, "backend": backend}
            await dispatcher.drain(SHUTDOWN_GRACE_SECONDS)
            log.info("router.stopped")

    app = FastAPI(
        title="WhatsApp router",
        version="0.1.0",
        description="Receives WhatsApp Cloud API webhooks and replies through the reply Server.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(webhook_router)

    @app.get("/health")
    async def health(backend: BackendDep) -> JSONResponse:
        """Liveness and readiness, with the reply Server's state for information."""
        server_up = await backend.is_up()
        return JSONResponse(
            {"status": "ok", "checks": {"server": "up" if server_up else "down"}},
        )

    return app


def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


app = _app_from_environment()
