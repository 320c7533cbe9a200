"""What the secrets' tests share: two numbers added through the API with tokens of their own, an
llm agent with its key, a message to every number, and what each send carried."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.engine import create_engine
from app.models import Base
from app.secrets.keyring import install, installed
from app.settings import Settings

from ..backends import fresh_postgres
from ..conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    GRAPH_URL,
    GRAPH_VERSION,
    RouterUnderTest,
    make_settings,
)
from ..graph_api import GraphApi
from ..meta import PHONE_NUMBER_ID, signed, text_message

SALES, SUPPORT = "106540352242922", "106540352242933"
TOKENS = {PHONE_NUMBER_ID: ACCESS_TOKEN, SALES: "EAAG-sales-f3a9c1", SUPPORT: "EAAG-support-7d0b4e"}
LLM_URL = "http://llm.test/v1"
LLM_KEY = "sk-llm-5a1d9c0e7b"
LLM_REPLY = "An answer from the model"


def new_key() -> str:
    return Fernet.generate_key().decode()


def keyed(database_url: str, keys: str | None = None, **overrides: Any) -> Settings:
    """A router's settings with ROUTER_ENCRYPTION_KEYS (None: the tests' key file)."""
    return make_settings(database_url=database_url, router_encryption_keys=keys, **overrides)


@pytest.fixture(autouse=True)
def _keeps_the_process_ring() -> Iterator[None]:
    """Each test here installs rings of its own: the next test finds the one it started with."""
    before = installed()
    yield
    if before is not None:
        install(before)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL, on each database."""
    if request.param == "postgresql":
        return await fresh_postgres()
    return f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"


@pytest.fixture
def llm_route(mock_http: respx.MockRouter) -> respx.Route:
    return mock_http.post(f"{LLM_URL}/chat/completions").respond(
        200, json={"choices": [{"index": 0, "message": {"content": LLM_REPLY}}]}
    )


async def add_number(
    router: RouterUnderTest, mock_http: respx.MockRouter, number: str, token: str
) -> int:
    """A WhatsApp channel made through the API, its token checked by the (mocked) Graph API."""
    mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{number}").respond(
        200, json={"id": number, "display_phone_number": "+1 555 0100", "verified_name": "Acme"}
    )
    body = {"type": "whatsapp", "name": number, "phone_number_id": number, "access_token": token}
    made = await router.admin("POST", "/api/v1/channels", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def new_token(
    router: RouterUnderTest, mock_http: respx.MockRouter, channel_id: int, number: str, token: str
) -> None:
    mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{number}").respond(200, json={"id": number})
    changed = await router.admin(
        "PATCH", f"/api/v1/channels/{channel_id}", json={"access_token": token}
    )
    assert changed.status_code == 200, changed.text


async def add_llm_agent(router: RouterUnderTest, channel_id: int) -> int:
    """An llm agent with a key of its own, answering every text on the channel first."""
    body = {
        "name": "Model",
        "agent_type": "llm",
        "channel_ids": [channel_id],
        "priority": 10,
        "config": {"base_url": LLM_URL, "model": "small", "api_key": LLM_KEY},
    }
    made = await router.admin("POST", "/api/v1/agents", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def set_up_numbers(router: RouterUnderTest, mock_http: respx.MockRouter) -> dict[str, int]:
    """SALES and SUPPORT as channels, SUPPORT answered by the llm agent; each one's channel id."""
    ids = {
        number: await add_number(router, mock_http, number, TOKENS[number])
        for number in (SALES, SUPPORT)
    }
    await add_llm_agent(router, ids[SUPPORT])
    return ids


async def write(router: RouterUnderTest, number: str, wamid: str) -> None:
    payload = text_message(wamid, f"hello {number}")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number
    body, headers = signed(APP_SECRET, payload)
    response = await router.client.post("/webhook", content=body, headers=headers)
    assert response.status_code == 200, response.text


def sent_tokens(graph: GraphApi) -> dict[str, set[str]]:
    """The tokens each number's sends carried."""
    found: dict[str, set[str]] = {}
    for call in graph.calls:
        number = call.request.url.path.split("/")[2]
        found.setdefault(number, set()).add(call.request.headers["authorization"])
    return found


async def every_number_sends(
    router: RouterUnderTest,
    graph: GraphApi,
    llm_route: respx.Route,
    tag: str,
    tokens: dict[str, str] = TOKENS,
) -> None:
    """A message to each number is answered, sent with that number's own token; SUPPORT's by the
    llm agent, asked with its key."""
    graph.calls.clear()
    asked = llm_route.call_count
    for number in tokens:
        await write(router, number, f"wamid.{tag}.{number}")
    await router.settle()

    assert sent_tokens(graph) == {n: {f"Bearer {t}"} for n, t in tokens.items()}
    assert llm_route.call_count == asked + 1
    assert llm_route.calls.last.request.headers["authorization"] == f"Bearer {LLM_KEY}"
    replies = {json.loads(c.request.content)["text"]["body"] for c in graph.calls}
    assert LLM_REPLY in replies


async def stored_rows(url: str) -> dict[str, list[str]]:
    """Every row of every table as text, as the database keeps it."""
    engine = create_engine(url)
    try:
        return await _rows(engine)
    finally:
        await engine.dispose()


async def _rows(engine: AsyncEngine) -> dict[str, list[str]]:
    found = {}
    async with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            columns = ", ".join(f'CAST("{c.name}" AS TEXT)' for c in table.columns)
            rows = await connection.execute(text(f'SELECT {columns} FROM "{name}" ORDER BY 1'))  # noqa: S608
            found[name] = [json.dumps(list(row)) for row in rows.all()]
    return found


def everything_stored(url: str, rows: dict[str, list[str]]) -> bytes:
    """What a copy of the database holds: the SQLite files' bytes (the write-ahead log too), or
    PostgreSQL's rows as text."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    return json.dumps(rows).encode()
