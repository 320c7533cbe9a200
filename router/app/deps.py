"""Typed dependencies: the long-lived objects the lifespan opened, for the endpoints.

All async: FastAPI runs a plain `def` dependency in a thread pool, a hop each request pays for.
"""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from app.backend import Backend
from app.errors import NotConfigured, Unauthorized
from app.observability.metrics import Metrics
from app.observability.tracing import Tracing
from app.queue import JobQueue
from app.settings import Settings
from app.store.repository import MessageRepository


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_repository(request: Request) -> MessageRepository:
    repository: MessageRepository = request.state.repository
    return repository


async def get_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.state.queue
    return queue


async def get_backend(request: Request) -> Backend:
    backend: Backend = request.state.backend
    return backend


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.state.metrics
    return metrics


async def get_tracing(request: Request) -> Tracing:
    tracing: Tracing = request.state.tracing
    return tracing


SettingsDep = Annotated[Settings, Depends(get_settings)]
RepositoryDep = Annotated[MessageRepository, Depends(get_repository)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
BackendDep = Annotated[Backend, Depends(get_backend)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
TracingDep = Annotated[Tracing, Depends(get_tracing)]

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
