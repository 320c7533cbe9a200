"""The Server: computes the reply for a text. Stateless, so it scales out."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from app.bodies import MAX_BODY_BYTES, install_body_errors
from app.http_metrics import HttpMetrics, new_registry
from app.logs import RequestIdMiddleware, configure_logging
from app.replies import compose_reply
from app.routing import JsonBodyRoute
from app.schemas import ProcessRequest, ProcessResponse
from app.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    trace_id = None
    if settings.tracing:
        from app import tracing  # only now: nothing of OpenTelemetry's SDK while traces are off

        trace_id = tracing.trace_id
    configure_logging(
        settings.log_level, settings.log_format, cache_loggers=True, trace_id=trace_id
    )
    log = structlog.get_logger()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("server.started")
        yield
        log.info("server.stopped")

    app = FastAPI(
        title="WhatsApp router: reply server",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own telemetry stays off: with traces on, OpenTelemetry's standard FastAPI
        # instrumentation makes the spans (below), and no request is traced twice.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_body_errors(app)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: a request is timed from its arrival, the request id's work included.
    HttpMetrics("server", new_registry()).install(app)

    async def process(body: ProcessRequest) -> ProcessResponse:
        """Return the reply for one text message."""
        reply = compose_reply(body.text)
        log.info("process.replied", text_length=len(body.text))
        return ProcessResponse(original=body.text, reply=reply)

    # The Router calls /process once per message: its route takes the cheap path (app/routing.py),
    # which works on the app's own router only.
    app.router.add_api_route(
        "/process",
        process,
        methods=["POST"],
        route_class_override=JsonBodyRoute,
        max_body_size=MAX_BODY_BYTES,
    )

    if settings.tracing:
        tracing.instrument(app, settings)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness and readiness: the Server has no dependencies."""
        return {"status": "ok"}

    return app


app = create_app()
