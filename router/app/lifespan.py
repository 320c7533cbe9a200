"""What the router opens when it starts and closes when it stops: one typed `State`, and the
dependencies through which an endpoint reads it (`RepositoryDep`, `QueueDep`, ...).

The lifespan yields the state under one key; Starlette hands it to every request as
`request.state.lifespan` (`app/core/state.py`). Endpoints never read `request.state` themselves.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import httpx
import structlog
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.backend import Backend
from app.agents.build import builder
from app.agents.directory import AgentDirectory
from app.agents.llm import Endpoint
from app.auth.jwt import JwtVerifier
from app.channels.directory import ChannelDirectory
from app.channels.graph import GraphNumbers
from app.channels.seed import seed_default_channel
from app.core.clients import http_client
from app.core.engine import create_engine, migrate, session_factory
from app.core.state import STATE_KEY, lifespan_state
from app.events.bus import bus_for
from app.events.hub import EventHub
from app.events.service import HUB_KEY
from app.ignore_rules.directory import IgnoreRuleDirectory
from app.jobs.queue import JobQueue, LeaseKeeper, Sweeper
from app.jobs.retries import RetryPolicy
from app.jobs.scheduler import Scheduler
from app.media.blobs import BlobStore, blob_store
from app.media.fetch import MediaFetcher
from app.media.graph import media_graph
from app.media.outbound import MediaSender
from app.messages.store import MessageRepository
from app.monitoring.service import Monitoring, start_monitoring
from app.observability.exposition import new_metrics
from app.observability.metrics import Metrics
from app.observability.tracing import Tracing
from app.outbound.ratelimit import SendRateLimiter, storage_for
from app.outbound.sender import GraphSender
from app.outbound.whatsapp_clients import WhatsAppClients, whatsapp_clients
from app.routing.pipeline import Pipeline
from app.secrets.start import open_secrets
from app.settings import Settings
from app.templates.catalog import TemplateCatalog

log = structlog.get_logger()

SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """Everything the lifespan opened, for as long as the app runs."""

    settings: Settings
    repository: MessageRepository  # the message path's store
    queue: JobQueue
    backend: Backend  # the Server's client, behind its circuit breaker
    rate_limiter: SendRateLimiter
    whatsapp_clients: WhatsAppClients
    templates: TemplateCatalog
    sweeper: Sweeper
    scheduler: Scheduler
    channel_directory: ChannelDirectory
    agent_directory: AgentDirectory
    ignore_rules: IgnoreRuleDirectory
    metrics: Metrics
    events: EventHub
    tracing: Tracing
    monitoring: Monitoring
    sessions: async_sessionmaker[AsyncSession]  # the platform API's, a plain session each
    graph_numbers: GraphNumbers  # checks a channel's token against its number
    jwt: JwtVerifier | None  # None: OIDC sign-in is off
    media_store: BlobStore  # media files: a local directory or an S3-compatible store


def _jwt_verifier(settings: Settings) -> JwtVerifier | None:
    if settings.router_oidc_jwks_url is None:
        return None
    assert settings.router_oidc_issuer  # the three are validated together
    assert settings.router_oidc_audience
    return JwtVerifier(
        str(settings.router_oidc_jwks_url),
        settings.router_oidc_issuer,
        settings.router_oidc_audience,
        cache_seconds=settings.router_oidc_jwks_cache_seconds,
        cooldown_seconds=settings.router_oidc_jwks_cooldown_seconds,
    )


def lifespan_of(
    settings: Settings, tracing: Tracing
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, State]]]:
    """The app's lifespan: opens everything in order, yields the `State`, closes in reverse."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, State]]:
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
        try:
            await seed_default_channel(engine, settings)
        except Exception:
            # The database may be down at start (its health check says so); the next start seeds.
            log.exception("platform.seed_failed", detail="the env's number is not a channel yet")
        verifier = _jwt_verifier(settings)
        async with (
            http_client(
                base_url=str(settings.server_base_url), timeout=settings.server_timeout_seconds
            ) as server_client,
            http_client(timeout=settings.router_llm_timeout_seconds) as llm_client,
            whatsapp_clients(settings, tracing.graph_trace_configs()) as clients,
            httpx.AsyncClient(timeout=settings.whatsapp_send_timeout_seconds) as graph,
            blob_store(settings) as media_store,
            media_graph(settings) as media_calls,
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
            sender = GraphSender(clients, limiter, settings.whatsapp_access_token, metrics)
            token = settings.whatsapp_access_token
            media = (
                MediaFetcher(media_calls, media_store, repository.media, directory, token),
                MediaSender(media_calls, media_store, repository.media, sender, token),
            )
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
                media,
            )

            async def process(message_id: int) -> None:
                await pipeline.process(message_id, queue.enqueue)

            queue.register(process)
            await queue.start(receive=settings.router_process_jobs)

            async def resumable(everything_unheld: bool) -> list[int]:
                stale = None if everything_unheld else settings.router_lease_seconds
                return await repository.leases.resumable(stale)

            sweeper = Sweeper(resumable, queue.enqueue, settings.router_sweep_seconds)
            keeper = LeaseKeeper(
                lambda: queue.running_ids, repository.leases.keep, settings.router_lease_seconds
            )
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
                keeper.start()
                scheduler.start()
            monitoring = start_monitoring(settings, engine, metrics, queue, backend, limiter)
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
                    STATE_KEY: State(
                        settings=settings,
                        repository=repository,
                        queue=queue,
                        backend=backend,
                        rate_limiter=limiter,
                        whatsapp_clients=clients,
                        templates=TemplateCatalog(
                            clients,
                            settings.whatsapp_access_token,
                            settings.router_templates_cache_seconds,
                        ),
                        sweeper=sweeper,
                        scheduler=scheduler,
                        channel_directory=directory,
                        agent_directory=agents,
                        ignore_rules=ignore_rules,
                        metrics=metrics,
                        events=events,
                        tracing=tracing,
                        monitoring=monitoring,
                        sessions=async_sessionmaker(
                            engine, expire_on_commit=False, info={HUB_KEY: events}
                        ),
                        graph_numbers=GraphNumbers(graph, settings.graph_api_base_url),
                        jwt=verifier,
                        media_store=media_store,
                    )
                }
            finally:
                await monitoring.stop()
                await scheduler.stop()
                await sweeper.stop()
                stopped = await queue.drain(SHUTDOWN_GRACE_SECONDS)
                await keeper.stop()
                await pipeline.aclose()
                await repository.leases.release(stopped)
                await queue.stop()
                await limiter.aclose()
                await repository.aclose()
                await events.aclose()
                await engine.dispose()
                tracing.close()
                log.info("router.stopped", released=len(stopped))

    return lifespan


# What an endpoint depends on. Each is typed, and mypy checks the field it reads.


async def get_state(state: Annotated[State, Depends(lifespan_state)]) -> State:
    return state


StateDep = Annotated[State, Depends(get_state)]


async def _settings(state: StateDep) -> Settings:
    return state.settings


async def _repository(state: StateDep) -> MessageRepository:
    return state.repository


async def _queue(state: StateDep) -> JobQueue:
    return state.queue


async def _backend(state: StateDep) -> Backend:
    return state.backend


async def _rate_limiter(state: StateDep) -> SendRateLimiter:
    return state.rate_limiter


async def _metrics(state: StateDep) -> Metrics:
    return state.metrics


async def _tracing(state: StateDep) -> Tracing:
    return state.tracing


async def _templates(state: StateDep) -> TemplateCatalog:
    return state.templates


async def _channel_directory(state: StateDep) -> ChannelDirectory:
    return state.channel_directory


async def _agent_directory(state: StateDep) -> AgentDirectory:
    return state.agent_directory


async def _ignore_rules(state: StateDep) -> IgnoreRuleDirectory:
    return state.ignore_rules


async def _monitoring(state: StateDep) -> Monitoring:
    return state.monitoring


async def _graph_numbers(state: StateDep) -> GraphNumbers:
    return state.graph_numbers


async def _jwt(state: StateDep) -> JwtVerifier | None:
    return state.jwt


async def _media_store(state: StateDep) -> BlobStore:
    return state.media_store


SettingsDep = Annotated[Settings, Depends(_settings)]
RepositoryDep = Annotated[MessageRepository, Depends(_repository)]
QueueDep = Annotated[JobQueue, Depends(_queue)]
BackendDep = Annotated[Backend, Depends(_backend)]
RateLimiterDep = Annotated[SendRateLimiter, Depends(_rate_limiter)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
TracingDep = Annotated[Tracing, Depends(_tracing)]
TemplatesDep = Annotated[TemplateCatalog, Depends(_templates)]
ChannelDirectoryDep = Annotated[ChannelDirectory, Depends(_channel_directory)]
AgentDirectoryDep = Annotated[AgentDirectory, Depends(_agent_directory)]
IgnoreRulesDep = Annotated[IgnoreRuleDirectory, Depends(_ignore_rules)]
MonitoringDep = Annotated[Monitoring, Depends(_monitoring)]
GraphNumbersDep = Annotated[GraphNumbers, Depends(_graph_numbers)]
JwtVerifierDep = Annotated[JwtVerifier | None, Depends(_jwt)]
MediaStoreDep = Annotated[BlobStore, Depends(_media_store)]
