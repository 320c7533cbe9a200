"""The Simulator: a local stand-in for Meta's WhatsApp Cloud API, for development and tests.

It answers the Graph API as Meta does, delivers signed webhooks (messages from simulated users,
statuses for the messages the Router sends), injects faults on demand, records everything for
inspection, and serves a chat page at `/`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app import control, graph, inspection, media_control, media_graph
from app.bodies import MAX_BODY_BYTES, install_body_errors
from app.delivery import WebhookSender, webhook_client
from app.errors import GraphError, graph_error_handler
from app.faults import Faults
from app.http_metrics import HttpMetrics, new_registry
from app.logs import RequestIdMiddleware, configure_logging
from app.metrics import SimulatorMetrics
from app.settings import get_settings
from app.shutdown import on_stop_signal
from app.simulator import Simulator
from app.store import Store

log = structlog.get_logger()
STATIC = Path(__file__).parent / "static"


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, cache_loggers=True)
    registry = new_registry()
    metrics = SimulatorMetrics(registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Simulator]]:
        store = Store()
        async with webhook_client(settings.simulator_webhook_timeout_s) as client:
            faults = Faults(settings)
            sender = WebhookSender(client, store, faults, settings, metrics)
            simulator = Simulator(settings, store, faults, sender, metrics)
            log.info(
                "simulator.started",
                webhook_url=settings.simulator_webhook_url,
                phone_numbers=[b.phone_number_id for b in simulator.businesses],
            )
            with on_stop_signal(store.hub.close):
                yield {"simulator": simulator}
            await simulator.cancel_all()
            log.info("simulator.stopped")

    app = FastAPI(
        title="WhatsApp router: Cloud API simulator",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_body_errors(app)
    app.add_middleware(graph.SendShortcut)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: every request is counted, the Graph API sends SendShortcut answers included.
    HttpMetrics("simulator", registry).install(app)
    app.add_exception_handler(GraphError, graph_error_handler)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the Simulator depends on nothing (the Router may be down; that is a fault)."""
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(control.router, max_body_size=MAX_BODY_BYTES)
    app.include_router(inspection.router, max_body_size=MAX_BODY_BYTES)
    # Files: the largest WhatsApp takes (a 100 MB document), not the JSON endpoints' 1 MiB.
    app.include_router(media_control.router, max_body_size=media_control.MAX_SEND_BODY)
    app.include_router(media_graph.router, max_body_size=media_graph.MAX_UPLOAD_BODY)
    # Last: its catch-all answers unknown Graph API paths in Meta's shape.
    app.include_router(graph.router, max_body_size=MAX_BODY_BYTES)
    return app


app = create_app()
