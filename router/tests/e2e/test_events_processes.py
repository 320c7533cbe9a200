"""Live events across real router processes on PostgreSQL and Redis: a webhook router
(ROUTER_PROCESS_JOBS=false) and a worker router. The bot's reply is stored by the worker; a
subscriber connected to the webhook router receives it."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..backends import fresh_redis, migrated_postgres
from ..events_client import sse
from ..meta import PHONE_NUMBER_ID, signed, text_message
from ..support import Service, in_thread, service
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

APP_SECRET = "e2e-events-secret-41aa"
ACCESS_TOKEN = "e2e-events-token-9c0d"
ADMIN_KEY = "e2e-events-admin-77b2"


@pytest.fixture
def graph_url() -> Iterator[str]:
    with in_thread(GraphStandIn(ACCESS_TOKEN).app) as url:
        yield url


@pytest.mark.timeout(240)  # four processes to start
async def test_the_workers_reply_reaches_a_subscriber_of_the_webhook_router(
    graph_url: str, tmp_path: Path
) -> None:
    env = {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "e2e-events-verify",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_GRAPH_API_URL": graph_url,
        "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
        "DATABASE_URL": await migrated_postgres(),
        "QUEUE_URL": await fresh_redis(),
    }
    (tmp_path / "worker").mkdir()
    with service("server", {}, tmp_path) as server:
        env["SERVER_BASE_URL"] = server.url
        with (
            service("router", env | {"ROUTER_PROCESS_JOBS": "false"}, tmp_path) as web,
            service("router", env, tmp_path / "worker") as worker,
        ):
            await _reply_reaches_the_webhook_routers_subscriber(web, worker)


async def _reply_reaches_the_webhook_routers_subscriber(web: Service, worker: Service) -> None:
    assert worker.process.poll() is None
    user = "15550300001"
    async with (
        httpx.AsyncClient(base_url=web.url, timeout=httpx.Timeout(10, read=30)) as client,
        asyncio.timeout(30),
        sse(client, headers={"X-API-Key": ADMIN_KEY}) as stream,
    ):
        body, headers = signed(APP_SECRET, text_message("wamid.events.1", "hello", wa_id=user))
        assert (await client.post("/webhook", content=body, headers=headers)).status_code == 200
        seen = []
        while True:
            event = await stream.next()
            seen.append(event)
            message = event.data["data"]
            if event.event == "message.created" and message.get("sender") == "ai":
                break
    types = [e.event for e in seen]
    assert types[:2] == ["conversation.created", "message.created"]
    inbound = seen[1].data["data"]
    assert (inbound["sender"], inbound["text"]) == ("contact", "hello")
    assert message["conversation_id"] == inbound["conversation_id"]
    assert "hello" in message["text"]
    ids = [int(e.id or 0) for e in seen]
    assert ids == sorted(set(ids))
