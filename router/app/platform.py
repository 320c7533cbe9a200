"""The platform's part of the app: its API routers, and what its lifespan opens.

Nothing here runs on the message path: the webhook and the jobs do not touch it yet.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.endpoints import router as api_keys_router
from app.auth.jwt import JwtVerifier
from app.members.endpoints import router as members_router
from app.settings import Settings
from app.store.engine import session_factory
from app.tenants.endpoints import router as tenants_router


def include_platform_routers(app: FastAPI) -> None:
    for router in (tenants_router, api_keys_router, members_router):
        app.include_router(router)


@asynccontextmanager
async def platform_lifespan(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[dict[str, Any]]:
    """Builds the JWT verifier; yields the platform's part of the lifespan state."""
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
    yield {"sessions": session_factory(engine), "jwt": verifier}
