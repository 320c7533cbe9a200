"""The Router: receives Meta's webhooks, asks the Server for replies and sends them with PyWA."""

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.agents.endpoints import router as agents_router
from app.auth.endpoints import router as api_keys_router
from app.auth.principal import TENANT_HEADER
from app.channels.endpoints import router as channels_router
from app.compat.conversations import router as root_conversations_router
from app.compat.gateway import router as gateway_router
from app.compat.users import router as users_router
from app.contacts.endpoints import router as contacts_router
from app.conversations.endpoints import router as conversations_router
from app.core.bodies import MAX_BODY_BYTES
from app.core.cors import allow_origins
from app.core.costs import count_line, count_tasks, stop_counting_tasks
from app.core.engine import create_engine
from app.core.errors import install_error_handlers, install_error_renderers
from app.core.logs import RequestIdMiddleware, configure_logging
from app.events.endpoints import router as events_router
from app.ignore_rules.endpoints import router as ignore_rules_router
from app.inbound.endpoints import router as inbound_router
from app.inbound.webhook import WebhookFastPath
from app.inbound.webhook import router as webhook_router
from app.inbox.endpoints import install_inbox
from app.lifespan import (
    BackendDep,
    MediaStoreDep,
    QueueDep,
    RateLimiterDep,
    RepositoryDep,
    lifespan_of,
)
from app.media.endpoints import contacts_router as contact_files_router
from app.media.endpoints import router as media_router
from app.media.uploads import document_bodies
from app.members.endpoints import router as members_router
from app.messages.endpoints import router as conversation_messages_router
from app.messages.management import router as management_router
from app.messages.schemas import MessageIn, SendIn
from app.monitoring.endpoints import router as monitoring_router
from app.observability.exposition import install_metrics_route, multiprocess_dir
from app.observability.tracing import new_tracing
from app.schedules.endpoints import router as schedules_router
from app.secrets.start import refuse_unreadable, ring_from
from app.settings import Settings, SettingsError, load_settings
from app.templates.endpoints import router as templates_router
from app.tenants.endpoints import router as tenants_router

log = structlog.get_logger()

# The platform API: one router a domain, and the source systems' own paths (app/compat/).
PLATFORM_ROUTERS = (
    tenants_router,
    api_keys_router,
    members_router,
    users_router,
    channels_router,
    contacts_router,
    conversations_router,
    conversation_messages_router,
    schedules_router,
    templates_router,
    inbound_router,
    events_router,
    agents_router,
    ignore_rules_router,
    root_conversations_router,
    media_router,
    contact_files_router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    tracing = new_tracing(settings)
    configure_logging(
        settings.log_level,
        settings.log_format,
        trace_id=tracing.trace_id if tracing.enabled else None,
        on_line=count_line,
    )
    multiprocess_dir()  # checked before anything starts

    app = FastAPI(
        title="WhatsApp router",
        version="0.2.0",
        description="Receives WhatsApp Cloud API webhooks and replies through the reply Server.",
        lifespan=lifespan_of(settings, tracing),
        # FastAPI's own telemetry stays off: with traces on, OpenTelemetry's standard FastAPI
        # instrumentation makes the requests' spans (below), and no request is traced twice.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # Before the fast path is added, so the webhook's own answers pass no middleware of theirs.
    install_error_renderers(app)
    app.add_middleware(WebhookFastPath, settings=settings)  # POST /webhook: app/inbound/webhook.py
    app.add_middleware(RequestIdMiddleware)  # added last: outside the fast path
    allow_origins(
        app, settings.router_cors_origins, [TENANT_HEADER]
    )  # outermost: preflights answered at once
    app.include_router(webhook_router)
    app.include_router(management_router, max_body_size=MAX_BODY_BYTES)
    app.include_router(monitoring_router, max_body_size=MAX_BODY_BYTES)
    app.include_router(gateway_router, max_body_size=MAX_BODY_BYTES)
    install_metrics_route(app, settings)
    for router in PLATFORM_ROUTERS:
        app.include_router(router, max_body_size=MAX_BODY_BYTES)
    install_inbox(app, settings)
    document_bodies(app, MessageIn, SendIn)  # read by their endpoints themselves (a file too)
    tracing.instrument_app(app)

    @app.get("/health")
    async def health(
        repository: RepositoryDep,
        queue: QueueDep,
        backend: BackendDep,
        limiter: RateLimiterDep,
        media: MediaStoreDep,
    ) -> JSONResponse:
        """Readiness: 200 when the database, the queue and the rate limit's store answer, 503
        when one does not. The Server and the media store are reported, not required."""
        checks: dict[str, str] = {}
        # The rate limit's store counts: while its Redis is down no send can go out.
        probes = [
            ("database", repository.ping),
            ("queue", queue.ping),
            ("rate_limit", limiter.ping),
        ]
        for name, probe in probes:
            try:
                await probe()
                checks[name] = "up"
            except Exception as exc:
                checks[name] = f"down: {type(exc).__name__}"
        # The Server is reported, not required: messages wait in the store while it is down.
        checks["server"] = "up" if await backend.is_up() else "down"
        # Nor the media store: texts go on while files wait or fail with the reason.
        try:
            await media.ping()
            checks["media"] = "up"
        except Exception as exc:
            checks["media"] = f"down: {type(exc).__name__}"
        healthy = all(checks[name] == "up" for name, _ in probes)
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status_code=200 if healthy else 503,
        )

    return app


def _served() -> FastAPI:
    """The app `uvicorn app.main:app` serves, built from the environment, in a process tuned for
    it. Tests build theirs with `create_app(settings)`: no environment, no process-wide tuning."""
    try:
        settings = load_settings()
        # Before uvicorn runs the lifespan, which would check the same but could only fail with a
        # traceback after the message: a key ring that cannot read the stored secrets stops the
        # process here, with the message alone.
        # On a thread of its own: uvicorn may import `app` from inside its running event loop (a
        # worker process of `--workers N` does).
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _refuse_unreadable_secrets(settings)).result()
        app = create_app(settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    # The database driver (aiosqlite) runs in a thread of its own, which needs the GIL for every
    # statement. With the event loop busy, CPython hands the GIL over only every 5 ms by default,
    # so a round of a few statements waited tens of milliseconds, and every webhook's ack with it.
    sys.setswitchinterval(0.0005)
    # Each module's logger is built once, on its first call, rather than on every call; a call
    # below LOG_LEVEL is then an empty method. (Not in tests: they capture and reconfigure logs.)
    structlog.configure(cache_logger_on_first_use=True)
    app.router.lifespan_context = _frozen_once_started(app.router.lifespan_context)
    return app


async def _refuse_unreadable_secrets(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await refuse_unreadable(engine, ring_from(settings, settings.database_url), settings)
    finally:
        await engine.dispose()


def _frozen_once_started(
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]],
) -> Callable[[FastAPI], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def frozen(app: FastAPI) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            # What start-up built (the modules, the app and its routes, the store's tables, the
            # clients) lives as long as the process: out of the cyclic garbage collector's scans,
            # which otherwise walk all of it again on each full collection (a sixth of the
            # router's CPU per reply in `make bench`). No collection first: it finds a few hundred
            # objects here and takes a fifth of a second.
            gc.freeze()
            # The tasks the process creates are counted (`router_asyncio_tasks_created_total`,
            # `make bench`'s per-reply figures): one addition per task.
            loop = asyncio.get_running_loop()
            count_tasks(loop)
            try:
                yield state
            finally:
                stop_counting_tasks(loop)
                gc.unfreeze()

    return frozen


def __getattr__(name: str) -> Any:
    """`app.main:app`, built on first use (PEP 562): importing this module reads no environment."""
    if name == "app":
        served = globals()["app"] = _served()
        return served
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
