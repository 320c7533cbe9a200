"""A router with a tenant, a channel and its keys, the Graph API's media endpoints, and (for the
S3-compatible store) a real S3 server: moto's, in this process, on a port of its own."""

import copy
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from app.auth.roles import Role
from app.channels.models import Channel
from app.messages.models import Message

from ..backends import fresh_postgres, fresh_redis
from ..conftest import APP_SECRET, RouterUnderTest, make_settings, running_router
from ..factories import channels, tenants
from ..factories.store import Sessions
from ..graph_api import GraphApi
from ..meta import fixture, signed
from ..support import wait_until
from .fake_graph import FakeMedia

NUMBER = "100200300"  # the channel's phone_number_id (tests/factories/channels.py)
TOKEN = channels.TOKEN  # the channel's own token: every media call carries it

# Each kind's fixture body: the message's object is under the kind's name.
FIXTURES = {
    "image": "message_image",
    "video": "message_video_with_context",
    "audio": "message_audio",
    "voice": "message_voice",
    "document": "message_document_with_context",
    "sticker": "message_sticker",
}


def media_webhook(
    kind: str,
    media_id: str,
    sha256: str | None,
    wamid: str,
    *,
    caption: str | None = None,
    filename: str | None = None,
    mime_type: str | None = None,
) -> dict[str, Any]:
    """Meta's webhook for a file (a real fixture body), to the channel's number."""
    body = copy.deepcopy(fixture(FIXTURES[kind]))
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = NUMBER
    message = value["messages"][0]
    message["id"] = wamid
    item = message[message["type"]]
    item["id"] = media_id
    item.pop("caption", None)
    if sha256 is None:
        item.pop("sha256", None)
    else:
        item["sha256"] = sha256
    if caption is not None:
        item["caption"] = caption
    if filename is not None:
        item["filename"] = filename
    if mime_type is not None:
        item["mime_type"] = mime_type
    return body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """A real S3-compatible server (moto's), for the whole run."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_settings(url: str) -> dict[str, Any]:
    return {
        "router_media_s3_url": url,
        "router_media_s3_bucket": f"media-{uuid.uuid4().hex[:12]}",
        "router_media_s3_access_key_id": "testing",
        "router_media_s3_secret_access_key": "testing",
    }


@dataclass
class MediaWorld:
    router: RouterUnderTest
    graph: GraphApi
    meta: FakeMedia
    tenant_id: int
    channel: Channel
    key: str  # the key of an agent (a member) of the tenant
    owner_key: str
    other_key: str  # another tenant's owner

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.router.state.sessions
        return sessions

    async def post(self, payload: Any) -> httpx.Response:
        body, headers = signed(APP_SECRET, payload)
        response = await self.router.client.post("/webhook", content=body, headers=headers)
        assert response.status_code == 200, response.text
        return response

    async def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        headers["X-API-Key"] = key or self.key
        return await self.router.client.request(method, path, headers=headers, **kw)

    async def message(self, wamid: str) -> Message:
        async def found() -> Message | None:
            async with self.sessions() as session:
                return await session.scalar(select(Message).where(Message.wamid == wamid))

        message: Message = await wait_until(found, 10, what=f"message {wamid} stored")
        return message

    async def media_of(self, message_id: int, state: str | None = None) -> dict[str, Any]:
        """The message's `media` from the API, once it is `state` (any but pending by default)."""

        async def read() -> dict[str, Any] | None:
            response = await self.call("GET", f"/api/v1/messages/{message_id}")
            assert response.status_code == 200, response.text
            media: dict[str, Any] = response.json()["media"]
            if state is None:
                return media if media["state"] != "pending" else None
            return media if media["state"] == state else None

        media: dict[str, Any] = await wait_until(read, 15, what=f"message {message_id}'s media")
        return media


async def media_world(settings: dict[str, Any], graph: GraphApi) -> AsyncIterator[MediaWorld]:
    meta = FakeMedia()
    graph.mock(side_effect=meta)
    async with running_router(make_settings(**settings)) as router:
        s = router.state.sessions
        ours = await tenants.tenant(s, "Acme")
        agent = await tenants.member(s, ours.id, Role.AGENT, name="Support Agent")
        _, key = await tenants.api_key(s, ours.id, Role.AGENT, agent.id)
        _, owner_key = await tenants.api_key(s, ours.id, Role.OWNER)
        channel = await channels.channel(s, ours.id, NUMBER)
        theirs = await tenants.tenant(s, "Second Company")
        _, other_key = await tenants.api_key(s, theirs.id, Role.OWNER)
        yield MediaWorld(router, graph, meta, ours.id, channel, key, owner_key, other_key)


@pytest.fixture
async def media(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> AsyncIterator[MediaWorld]:
    """On SQLite, the in-process queue and the local directory."""
    async for world in media_world({"database_url": database_url}, graph_route):
        yield world


@pytest.fixture(
    params=[
        "sqlite/memory/local",
        "postgresql/redis/local",
        "sqlite/redis/s3",
        "postgresql/memory/s3",
    ]
)
async def media_everywhere(
    request: pytest.FixtureRequest,
    server_route: respx.Route,
    graph_route: GraphApi,
    database_url: str,
    s3_url: str,
) -> AsyncIterator[MediaWorld]:
    """On each store, queue and blob store the media path supports."""
    store, queue, blobs = request.param.split("/")
    settings: dict[str, Any] = {
        "database_url": await fresh_postgres() if store == "postgresql" else database_url
    }
    if queue == "redis":
        settings["queue_url"] = await fresh_redis()
    if blobs == "s3":
        settings.update(s3_settings(s3_url))
    async for world in media_world(settings, graph_route):
        yield world
