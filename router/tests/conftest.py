import asyncio
import atexit
import functools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.engine import create_engine, migrate
from app.core.state import STATE_KEY
from app.lifespan import State
from app.main import create_app
from app.messages.store import MessageRepository
from app.secrets.keyring import create_key_file, install, read_key_file
from app.settings import Settings

from . import graph_api
from .backends import fresh_rabbitmq, fresh_redis, migrated_postgres
from .meta import PHONE_NUMBER_ID
from .support import wait_until

# The platform API's fixtures (`platform`, `world`), used by tests in several packages.
pytest_plugins = ["tests.world"]

# The stored secrets' key, as a router without ROUTER_ENCRYPTION_KEYS keeps it: in a key file, one
# per test process (and the routers it starts), never the checkout's router/data/encryption.key.
_KEYS = tempfile.mkdtemp(prefix="router-test-keys-")
atexit.register(shutil.rmtree, _KEYS, ignore_errors=True)
os.environ.setdefault("ROUTER_ENCRYPTION_KEY_FILE", os.path.join(_KEYS, "encryption.key"))
# Media files, a directory per router under test (never the checkout's router/data/media).
_MEDIA = tempfile.mkdtemp(prefix="router-test-media-")
atexit.register(shutil.rmtree, _MEDIA, ignore_errors=True)

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
VERIFY_TOKEN = "test-verify-token"
GRAPH_URL = graph_api.URL  # a real server: see graph_route
SERVER_URL = "http://server.test"
GRAPH_VERSION = "26.0"
ADMIN_KEY = "test-admin-key"
MESSAGES_URL = f"{GRAPH_URL}/v{GRAPH_VERSION}/{PHONE_NUMBER_ID}/messages"

# The process's key ring before any router starts: what tests that write to a store without a
# router (migrations, factories) encrypt with, whatever a .env at the repo root says.
KEY_FILE = Path(os.environ["ROUTER_ENCRYPTION_KEY_FILE"])
create_key_file(KEY_FILE)
install(read_key_file(KEY_FILE))


def make_settings(**overrides: Any) -> Settings:
    """Settings for a router under test: fast retries, the store given by `database_url`."""
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///:memory:",
        "router_retry_initial_seconds": 0.01,
        "router_retry_max_seconds": 0.05,
        "router_retry_max_attempts": 4,
        "router_breaker_threshold": 1000,
        "router_sweep_seconds": 0.2,
        "router_lease_seconds": 2,
        "router_admin_api_key": ADMIN_KEY,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_webhook_verify_token": VERIFY_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_graph_api_url": GRAPH_URL,
        "whatsapp_graph_api_version": GRAPH_VERSION,
        "server_base_url": SERVER_URL,
        "server_timeout_seconds": 0.5,
        # Media files go to a directory of the test run's own, never router/data/media.
        "router_media_dir": Path(tempfile.mkdtemp(dir=_MEDIA)),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@functools.cache
def _openapi_text() -> str:
    return json.dumps(create_app(make_settings()).openapi())


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document a router serves at /openapi.json, a copy of its own for each caller:
    made once per test process (most of a second each time, in several test modules)."""
    described: dict[str, Any] = json.loads(_openapi_text())
    return described


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = state
        await app(scope, receive, send)

    return wrapped


@dataclass
class RouterUnderTest:
    client: httpx.AsyncClient
    state: State

    async def settle(self, timeout: float = 15) -> None:
        """Wait until no job runs here and no message in the store is unfinished."""

        async def settled() -> bool:
            return not self.state.queue.busy and not await self.repository.leases.unfinished()

        await wait_until(settled, timeout, what="no job running and no message unfinished")

    @property
    def repository(self) -> MessageRepository:
        repository: MessageRepository = self.state.repository
        return repository

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": ADMIN_KEY, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)


@asynccontextmanager
async def running_router(settings: Settings) -> AsyncIterator[RouterUnderTest]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app) as lifespan_state:
        assert lifespan_state is not None
        transport = httpx.ASGITransport(app=_with_state(app, dict(lifespan_state)))
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            yield RouterUnderTest(client, lifespan_state[STATE_KEY])


@pytest.fixture
def mock_http() -> Iterator[respx.MockRouter]:
    """The Server, mocked at the HTTP layer."""
    # using="httpx" mocks at the client, whatever transport it has (the Server's is aiohttp's).
    with respx.mock(assert_all_called=False, assert_all_mocked=True, using="httpx") as mock:
        mock.route(host="router").pass_through()  # the test's own client to the app
        yield mock


def server_reply(request: httpx.Request) -> httpx.Response:
    """The Server's answer to `POST /process`."""
    text = json.loads(request.content)["text"]
    reply = f"I received your message: '{text}' and here is a random number: 7"
    return httpx.Response(200, json={"original": text, "reply": reply})


@pytest.fixture
def server_route(mock_http: respx.MockRouter) -> respx.Route:
    return mock_http.post(f"{SERVER_URL}/process").mock(side_effect=server_reply)


@pytest.fixture
async def graph_route() -> AsyncIterator[graph_api.GraphApi]:
    """The Graph API at GRAPH_URL: accepts every send until the test says otherwise (`.mock`)."""
    graph = graph_api.GraphApi()
    await graph.start()
    try:
        yield graph
    finally:
        await graph.close()
    assert not graph.failures, graph.failures


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest migration, made once per test process: each test's store
    starts as a copy of it (migrating anew is most of a router's start in a test)."""
    path = tmp_path_factory.mktemp("migrated") / "router.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A SQLite store of the test's own, already migrated (the router's start-up migration then
    finds nothing to do)."""
    shutil.copyfile(migrated_sqlite, tmp_path / "router.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"


async def fresh_queue(queue: str) -> dict[str, str]:
    """The settings of an empty queue: memory, redis or rabbitmq."""
    if queue == "redis":
        return {"queue_url": await fresh_redis()}
    if queue == "rabbitmq":
        return await fresh_rabbitmq()
    return {"queue_url": "memory://"}


@pytest.fixture(
    params=[
        "sqlite/memory",
        "postgresql/memory",
        "sqlite/redis",
        "postgresql/redis",
        "sqlite/rabbitmq",
        "postgresql/rabbitmq",
    ]
)
async def backends(request: pytest.FixtureRequest, database_url: str) -> dict[str, str]:
    """DATABASE_URL and QUEUE_URL (with ROUTER_QUEUE_NAME for RabbitMQ) for each store and queue
    the router supports."""
    store, queue = request.param.split("/")
    return {
        "database_url": await migrated_postgres() if store == "postgresql" else database_url,
        **await fresh_queue(queue),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
async def stores(request: pytest.FixtureRequest, database_url: str) -> dict[str, str]:
    """DATABASE_URL for each store, the queue in-process: for what the queue cannot change (a
    request refused before anything is enqueued, a read)."""
    if request.param == "postgresql":
        return {"database_url": await migrated_postgres()}
    return {"database_url": database_url}


@pytest.fixture
async def router(
    server_route: respx.Route, graph_route: graph_api.GraphApi, database_url: str
) -> AsyncIterator[RouterUnderTest]:
    async with running_router(make_settings(database_url=database_url)) as under_test:
        yield under_test
