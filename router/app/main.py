"""The Router: receives Meta's webhooks, asks the Server for replies and sends them with PyWA."""

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.agents.backend import Backend
from app.agents.build import builder
from app.agents.directory import AgentDirectory
from app.agents.llm import Endpoint
from app.api.messages import router as messages_router
from app.bodies import MAX_BODY_BYTES
from app.channels.directory import ChannelDirectory
from app.compat.gateway import router as gateway_router
from app.core.clients import http_client
from app.core.cors import allow_origins
from app.core.deps import BackendDep, QueueDep, RateLimiterDep, RepositoryDep
from app.core.errors import install_error_renderers
from app.errors import install_error_handlers
from app.events.bus import bus_for
from app.events.hub import EventHub
from app.ignore_rules.directory import IgnoreRuleDirectory
from app.inbound.webhook import WebhookFastPath
from app.inbound.webhook import router as webhook_router
from app.inbox.endpoints import install_inbox
from app.jobs.queue import JobQueue, Sweeper
from app.jobs.retries import RetryPolicy
from app.logs import RequestIdMiddleware, configure_logging
from app.monitoring.endpoints import router as monitoring_router
from app.monitoring.service import start_monitoring
from app.observability.exposition import install_metrics_route, multiprocess_dir, new_metrics
from app.observability.tracing import new_tracing
from app.outbound.ratelimit import SendRateLimiter, storage_for
from app.outbound.sender import Sender
from app.outbound.whatsapp_clients import whatsapp_clients
from app.platform import include_platform_routers, platform_lifespan
from app.routing.pipeline import Pipeline
from app.schedules.scheduler import Scheduler
from app.secrets.start import open_secrets
from app.settings import Settings, SettingsError, load_settings
from app.store.engine import create_engine, migrate, session_factory
from app.store.repository import MessageRepository
from app.templates.catalog import TemplateCatalog

log = structlog.get_logger()

SHUTDOWN_GRACE_SECONDS = 10.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    tracing = new_tracing(settings)
    configure_logging(
        settings.log_level,
        settings.log_format,
        trace_id=tracing.trace_id if tracing.enabled else None,
    )
    multiprocess_dir()  # checked before anything starts

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # The database driver (aiosqlite) runs in a thread of its own, which needs the GIL for
        # every statement. With the event loop busy, CPython hands the GIL over only every 5 ms by
        # default, so a round of a few statements waited tens of milliseconds, and every webhook's
        # ack with it.
        sys.setswitchinterval(0.0005)
        if settings.whatsapp_app_secret is None:
            log.warning(
                "webhook.signatures_disabled",
                detail="ROUTER_ALLOW_UNSIGNED_WEBHOOKS is on: anyone can post to /webhook. "
                "Never run this way in production.",
            )
        engine = create_engine(settings.database_url)
        tracing.instrument_engine(engine)
        await open_secrets(settings, engine)  # refuses keys that cannot read the stored secrets
        if settings.router_migrate_on_start:
            await migrate(engine)
        directory = ChannelDirectory(engine, settings.router_channel_cache_seconds)
        metrics = new_metrics(settings)
        queue = JobQueue(settings.queue_url, settings.router_workers, settings.router_queue_name)
        if queue.kind == "rabbitmq" and settings.rate_limit_url == "memory://":
            log.warning(
                "ratelimit.per_process",
                detail="the send rate limit is kept in this process only: several router "
                "processes on one RabbitMQ queue may each send WHATSAPP_MESSAGES_PER_SECOND per "
                "number. Set ROUTER_RATE_LIMIT_URL=redis://... to share one budget.",
            )
        events = EventHub(
            engine,
            bus_for(settings),
            settings.router_events_retention_seconds,
            settings.router_events_queue_size,
        )
        await events.start(prune=settings.router_process_jobs)
        repository = MessageRepository(
            engine, session_factory(engine), directory, metrics, events=events
        )
        async with (
            http_client(
                base_url=str(settings.server_base_url), timeout=settings.server_timeout_seconds
            ) as server_client,
            http_client(timeout=settings.router_llm_timeout_seconds) as llm_client,
            whatsapp_clients(settings, tracing.graph_trace_configs()) as clients,
            platform_lifespan(settings, engine, events) as platform,
        ):
            tracing.instrument_client(server_client)
            tracing.instrument_client(llm_client)
            backend = Backend(
                server_client,
                breaker_threshold=settings.router_breaker_threshold,
                breaker_ttl=settings.router_breaker_ttl_seconds,
                metrics=metrics,
            )
            cache_seconds = settings.router_channel_cache_seconds
            llm_endpoint = Endpoint(str(settings.openai_base_url), settings.openai_api_key)
            agents = AgentDirectory(
                engine, cache_seconds, builder(engine, backend, llm_client, metrics, llm_endpoint)
            )
            ignore_rules = IgnoreRuleDirectory(engine, cache_seconds)
            limiter = SendRateLimiter(
                storage_for(settings.rate_limit_url), settings.whatsapp_messages_per_second, metrics
            )
            sender = Sender(clients, limiter, settings.whatsapp_access_token, metrics)
            pipeline = Pipeline(
                repository,
                agents,
                ignore_rules,
                sender,
                RetryPolicy(
                    max_attempts=settings.router_retry_max_attempts,
                    max_age_seconds=settings.router_retry_max_age_seconds,
                    initial_seconds=settings.router_retry_initial_seconds,
                    max_seconds=settings.router_retry_max_seconds,
                ),
                settings.router_lease_seconds,
                settings.router_resend_wait_seconds,
                directory,
                tracing,
            )

            async def process(message_id: int) -> None:
                await pipeline.process(message_id, queue.enqueue)

            queue.register(process)
            await queue.start(receive=settings.router_process_jobs)

            async def resumable(everything_unheld: bool) -> list[int]:
                stale = None if everything_unheld else settings.router_lease_seconds
                return await repository.resumable(stale)

            sweeper = Sweeper(resumable, queue.enqueue, settings.router_sweep_seconds)
            scheduler = Scheduler(
                engine, queue.enqueue, settings.router_scheduler_interval_seconds, events
            )
            if settings.router_process_jobs:
                # An in-process queue starts empty: whatever the store holds unfinished is ours.
                try:
                    await sweeper.sweep(everything_unheld=queue.in_process)
                except Exception:
                    log.exception("router.resume_failed", detail="the periodic sweep will retry")
                sweeper.start()
                scheduler.start()
            monitoring = start_monitoring(settings, engine, metrics, queue, backend, limiter)
            # What start-up built (the modules, the app and its routes, the store's tables, the
            # clients) lives as long as the app: out of the cyclic garbage collector's scans, which
            # otherwise walk all of it again on each full collection (a sixth of the router's CPU
            # per reply in `make bench`). Handed back on stop, for a process that starts several.
            # No collection first: it finds a few hundred objects here and takes a fifth of a
            # second, at every start of a test's app.
            gc.freeze()
            log.info(
                "router.started",
                graph_api=settings.graph_api_base_url,
                server=str(settings.server_base_url),
                database=engine.url.render_as_string(hide_password=True),
                queue=queue.kind,
                events=events.bus_kind,
                jobs="here" if settings.router_process_jobs else "in worker processes",
            )
            try:
                yield {
                    "settings": settings,
                    "repository": repository,
                    "queue": queue,
                    "backend": backend,
                    "rate_limiter": limiter,
                    "whatsapp_clients": clients,
                    "templates": TemplateCatalog(
                        clients,
                        settings.whatsapp_access_token,
                        settings.router_templates_cache_seconds,
                    ),
                    "sweeper": sweeper,
                    "scheduler": scheduler,
                    "channel_directory": directory,
                    "agent_directory": agents,
                    "ignore_rules": ignore_rules,
                    "metrics": metrics,
                    "events": events,
                    "tracing": tracing,
                    **monitoring.state,
                    **platform,
                }
            finally:
                await monitoring.stop()
                await scheduler.stop()
                await sweeper.stop()
                stopped = await queue.drain(SHUTDOWN_GRACE_SECONDS)
                await pipeline.aclose()
                await repository.release(stopped)
                await queue.stop()
                await limiter.aclose()
                await repository.aclose()
                await events.aclose()
                await engine.dispose()
                tracing.close()
                gc.unfreeze()
                log.info("router.stopped", released=len(stopped))

    app = FastAPI(
        title="WhatsApp router",
        version="0.2.0",
        description="Receives WhatsApp Cloud API webhooks and replies through the reply Server.",
        lifespan=lifespan,
        # FastAPI's own telemetry stays off: with traces on, OpenTelemetry's standard FastAPI
        # instrumentation makes the requests' spans (below), and no request is traced twice.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # Before the fast path is added, so the webhook's own answers pass no middleware of theirs.
    install_error_renderers(app)
    app.add_middleware(WebhookFastPath, settings=settings)  # POST /webhook: app/inbound/webhook.py
    app.add_middleware(RequestIdMiddleware)  # added last: outside the fast path
    allow_origins(app, settings.router_cors_origins)  # outermost: preflights answered at once
    app.include_router(webhook_router)
    app.include_router(messages_router, max_body_size=MAX_BODY_BYTES)
    app.include_router(monitoring_router, max_body_size=MAX_BODY_BYTES)
    app.include_router(gateway_router, max_body_size=MAX_BODY_BYTES)
    install_metrics_route(app, settings)
    include_platform_routers(app)
    install_inbox(app, settings)
    tracing.instrument_app(app)

    @app.get("/health")
    async def health(
        repository: RepositoryDep, queue: QueueDep, backend: BackendDep, limiter: RateLimiterDep
    ) -> JSONResponse:
        """Readiness: 200 when the database, the queue and the rate limit's store answer, 503
        when one does not."""
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
        healthy = all(checks[name] == "up" for name, _ in probes)
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status_code=200 if healthy else 503,
        )

    return app


def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


app = _app_from_environment()
