"""Typed dependencies: the long-lived objects the lifespan opened, for the endpoints."""

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from app.agents.backend import Backend
from app.core.errors import NotConfigured, Unauthorized
from app.core.state import from_state
from app.jobs.queue import JobQueue
from app.messages.store import MessageRepository
from app.observability.metrics import Metrics
from app.observability.tracing import Tracing
from app.outbound.ratelimit import SendRateLimiter
from app.settings import Settings

SettingsDep = Annotated[Settings, from_state("settings")]
RepositoryDep = Annotated[MessageRepository, from_state("repository")]
QueueDep = Annotated[JobQueue, from_state("queue")]
BackendDep = Annotated[Backend, from_state("backend")]
RateLimiterDep = Annotated[SendRateLimiter, from_state("rate_limiter")]
MetricsDep = Annotated[Metrics, from_state("metrics")]
TracingDep = Annotated[Tracing, from_state("tracing")]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def require_admin(
    settings: SettingsDep, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    """The management API's key, sent as `X-API-Key`."""
    expected = settings.router_admin_api_key
    if expected is None or not expected.get_secret_value():
        raise NotConfigured("the management API is off: set ROUTER_ADMIN_API_KEY to turn it on")
    if api_key is None or not hmac.compare_digest(
        api_key.encode(), expected.get_secret_value().encode()
    ):
        raise Unauthorized("a valid X-API-Key header is required")


AdminDep = Depends(require_admin)
