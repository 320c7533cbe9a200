from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.main import create_app
from app.settings import get_settings


@asynccontextmanager
async def client_for(
    app: FastAPI, *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of `app`, its lifespan entered. `raise_app_exceptions=False`: an
    exception in the app reaches the client as the 500 a real client would get."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://server") as client:
            yield client


@pytest.fixture
def app_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], FastAPI]]:
    """The Server's app built with the given LOG_LEVEL (whatever the environment or .env says)."""

    def build(log_level: str) -> FastAPI:
        monkeypatch.setenv("LOG_LEVEL", log_level)
        get_settings.cache_clear()
        return create_app()

    yield build
    get_settings.cache_clear()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app()) as client:
        yield client
