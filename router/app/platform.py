"""The platform's part of the app: its API routers, and what its lifespan opens."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.agents.endpoints import router as agents_router
from app.auth.endpoints import router as api_keys_router
from app.auth.jwt import JwtVerifier
from app.channels.endpoints import router as channels_router
from app.channels.graph import GraphNumbers
from app.channels.seed import seed_default_channel
from app.compat.conversations import router as root_conversations_router
from app.compat.users import router as users_router
from app.contacts.endpoints import router as contacts_router
from app.conversations.endpoints import router as conversations_router
from app.core.bodies import MAX_BODY_BYTES
from app.events.endpoints import router as events_router
from app.events.hub import EventHub
from app.events.service import HUB_KEY
from app.ignore_rules.endpoints import router as ignore_rules_router
from app.inbound.endpoints import router as inbound_router
from app.members.endpoints import router as members_router
from app.messages.endpoints import router as messages_router
from app.schedules.endpoints import router as schedules_router
from app.settings import Settings
from app.templates.endpoints import router as templates_router
from app.tenants.endpoints import router as tenants_router

log = structlog.get_logger()


def include_platform_routers(app: FastAPI) -> None:
    for router in (
        tenants_router,
        api_keys_router,
        members_router,
        users_router,
        channels_router,
        contacts_router,
        conversations_router,
        messages_router,
        schedules_router,
        templates_router,
        inbound_router,
        events_router,
        agents_router,
        ignore_rules_router,
        root_conversations_router,
    ):
        app.include_router(router, max_body_size=MAX_BODY_BYTES)


@asynccontextmanager
async def platform_lifespan(
    settings: Settings, engine: AsyncEngine, events: EventHub
) -> AsyncIterator[dict[str, Any]]:
    """Seeds the env's number as the default channel; opens the Graph API client that checks
    channel tokens and the JWT verifier. Yields their part of the lifespan state. The API's
    sessions wake the event streams when they commit events."""
    try:
        await seed_default_channel(engine, settings)
    except Exception:
        # The database may be down at start (its health check says so); the next start seeds.
        log.exception("platform.seed_failed", detail="the env's number is not a channel yet")
    verifier = None
    if settings.router_oidc_jwks_url is not None:
        assert settings.router_oidc_issuer  # the three are validated together
        assert settings.router_oidc_audience
        verifier = JwtVerifier(
            str(settings.router_oidc_jwks_url),
            settings.router_oidc_issuer,
            settings.router_oidc_audience,
            cache_seconds=settings.router_oidc_jwks_cache_seconds,
            cooldown_seconds=settings.router_oidc_jwks_cooldown_seconds,
        )
    async with httpx.AsyncClient(timeout=settings.whatsapp_send_timeout_seconds) as graph:
        yield {
            "sessions": async_sessionmaker(engine, expire_on_commit=False, info={HUB_KEY: events}),
            "graph_numbers": GraphNumbers(graph, settings.graph_api_base_url),
            "jwt": verifier,
        }
