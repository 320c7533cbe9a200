"""The live events of a caller who sees some numbers only (an agent or viewer on numbers, a key
limited with `channel_ids`): their numbers' conversations and messages, never another number's;
over SSE and the WebSocket, live and replayed. A real router served over HTTP."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.auth.roles import Role
from app.core.engine import create_engine

from ..backends import migrated_postgres
from ..events_client import sse
from ..factories import channels, contacts, conversations, tenants
from .test_events import client_of, served


@dataclass
class Scene:
    url: str
    client: httpx.AsyncClient
    owner: str
    agent_on_a: str  # a key of an agent the owner put on number A
    agent_on_none: str
    a: int  # a conversation on number A
    b: int  # one on number B
    b_channel: int

    contact: int  # A's contact: its events are every subscriber's of the tenant

    async def live(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Until the subscriber is live: a stream opened without a place to resume from starts
        at the newest event when it subscribes, which may be just after the request's answer.
        Pings (edits of a contact) go out until one arrives."""
        for n in range(100):
            renamed = await self.client.patch(
                f"/api/v1/contacts/{self.contact}",
                json={"name": f"ping {n}"},
                headers={"X-API-Key": self.owner},
            )
            assert renamed.status_code == 200, renamed.text
            try:
                await asyncio.wait_for(receive(), 0.5)
                return
            except TimeoutError:
                continue
        raise AssertionError("the stream never went live")

    async def close(self, conversation_id: int) -> None:
        """A `conversation.updated` event of the conversation's number."""
        closed = await self.client.post(
            f"/api/v1/conversations/{conversation_id}/close", headers={"X-API-Key": self.owner}
        )
        assert closed.status_code == 200, closed.text


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, database_url: str) -> str:
    return await migrated_postgres() if request.param == "postgresql" else database_url


@asynccontextmanager
async def scene(database_url: str) -> AsyncIterator[Scene]:
    with served(database_url) as url:  # migrated at its start
        engine = create_engine(database_url)
        try:
            s = async_sessionmaker(engine, expire_on_commit=False)
            tenant = (await tenants.tenant(s, "Acme")).id
            on_a = await tenants.member(s, tenant, Role.AGENT, name="Agent on A")
            free = await tenants.member(s, tenant, Role.AGENT, name="Agent on no number")
            a_channel = await channels.channel(s, tenant, "100200300")
            b_channel = await channels.channel(s, tenant, "100200301")
            one = await contacts.contact(s, tenant, "15550001111")
            two = await contacts.contact(s, tenant, "15550002222")
            a = await conversations.conversation(s, tenant, a_channel.id, one.id)
            b = await conversations.conversation(s, tenant, b_channel.id, two.id)
            _, owner = await tenants.api_key(s, tenant, Role.OWNER)
            _, agent_on_a = await tenants.api_key(s, tenant, Role.AGENT, on_a.id)
            _, agent_on_none = await tenants.api_key(s, tenant, Role.AGENT, free.id)
        finally:
            await engine.dispose()
        async with client_of(url) as client:
            given = await client.post(
                f"/api/v1/members/{on_a.id}/channels",
                json={"channel_id": a_channel.id},
                headers={"X-API-Key": owner},
            )
            assert given.status_code == 201, given.text
            yield Scene(
                url, client, owner, agent_on_a, agent_on_none, a.id, b.id, b_channel.id, one.id
            )


async def conversation_event(receive: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """The next event of a conversation (late pings left out)."""
    while (event := await receive())["type"] == "contact.updated":
        continue
    return event


@asynccontextmanager
async def sse_events(
    client: httpx.AsyncClient, **kwargs: Any
) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    """The stream's events, read by a task of their own: a wait for one may time out without
    cutting a read in half."""
    async with sse(client, **kwargs) as stream:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def read() -> None:
            while True:
                await queue.put((await stream.next()).data)

        reader = asyncio.create_task(read())
        try:
            yield queue.get
        finally:
            reader.cancel()


async def test_an_agent_on_a_number_is_streamed_its_events_only(store: str) -> None:
    async with scene(store) as it, asyncio.timeout(30):
        async with sse_events(it.client, headers={"X-API-Key": it.agent_on_a}) as receive:
            await it.live(receive)
            await it.close(it.b)
            await it.close(it.a)
            # Events go out in id order: had B's come, it would be first.
            first = await conversation_event(receive)
        assert first["type"] == "conversation.updated"
        assert first["data"]["id"] == it.a

        # Replayed from the start: B's event is left out there too.
        replay = {"last_event_id": 0}
        headers = {"X-API-Key": it.agent_on_a}
        async with sse_events(it.client, headers=headers, params=replay) as receive:
            assert (await conversation_event(receive))["data"]["id"] == it.a
        # An agent on no number is streamed both.
        headers = {"X-API-Key": it.agent_on_none}
        async with sse_events(it.client, headers=headers, params=replay) as receive:
            both = [(await conversation_event(receive))["data"]["id"] for _ in range(2)]
        assert both == [it.b, it.a]


async def test_a_ticket_and_a_limited_key_carry_their_numbers_to_the_websocket(
    store: str,
) -> None:
    async with scene(store) as it, asyncio.timeout(30):
        ws_url = it.url.replace("http://", "ws://") + "/api/v1/ws"
        made = await it.client.post("/api/v1/events/ticket", headers={"X-API-Key": it.agent_on_a})
        ticket = made.json()["ticket"]
        limited = await it.client.post(
            "/api/v1/api-keys",
            json={"name": "desk", "role": "viewer", "channel_ids": [it.b_channel]},
            headers={"X-API-Key": it.owner},
        )
        assert limited.status_code == 201, limited.text
        limited_key = {"X-API-Key": limited.json()["key"]}
        async with (
            websockets.connect(f"{ws_url}?ticket={ticket}") as on_a,
            websockets.connect(ws_url, additional_headers=limited_key) as on_b,
        ):

            async def a() -> dict[str, Any]:
                return dict(json.loads(await on_a.recv()))

            async def b() -> dict[str, Any]:
                return dict(json.loads(await on_b.recv()))

            await it.live(a)
            await it.live(b)
            await it.close(it.b)
            await it.close(it.a)
            reopened = await it.client.post(
                f"/api/v1/conversations/{it.b}/reopen", headers={"X-API-Key": it.owner}
            )
            assert reopened.status_code == 200
            assert (await conversation_event(a))["data"]["id"] == it.a
            assert [(await conversation_event(b))["data"]["id"] for _ in range(2)] == [it.b, it.b]
