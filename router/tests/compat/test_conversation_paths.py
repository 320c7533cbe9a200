"""The conversation backend's paths at the root (`/conversations/{id}`, its messages, transfer and
transfer-toggle) answer exactly as `/api/v1/conversations/...` do, with its names in the JSON
(`company_id`, `contact_id`, `owner_id`; a message's `sender` and `content`)."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from app.auth.roles import Role
from app.members.models import Member
from app.store.models import Message

from ..conftest import RouterUnderTest, make_settings, running_router
from ..factories import tenants
from ..factories.store import Sessions
from ..graph_api import GraphApi
from ..meta import text_message
from ..test_durability import post


@dataclass
class Talk:
    router: RouterUnderTest
    conversation_id: int
    tenant_id: int
    contact_id: int
    agent: Member
    key: str

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": self.key, **kwargs.pop("headers", {})}
        return await self.router.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def talk(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> AsyncIterator[Talk]:
    async with running_router(make_settings(database_url=database_url)) as router:
        await post(router, text_message("wamid.in.hello", "hello"))
        await router.settle()
        sessions: Sessions = router.state["sessions"]
        async with sessions() as session:
            inbound = await session.scalar(select(Message).where(Message.wamid == "wamid.in.hello"))
        assert inbound is not None
        assert inbound.tenant_id is not None
        assert inbound.conversation_id is not None
        assert inbound.contact_id is not None
        agent = await tenants.member(sessions, inbound.tenant_id, Role.AGENT, name="Support Agent")
        _, key = await tenants.api_key(sessions, inbound.tenant_id, Role.AGENT, agent.id)
        yield Talk(
            router, inbound.conversation_id, inbound.tenant_id, inbound.contact_id, agent, key
        )


async def test_a_conversation_and_its_messages_read_the_same_at_the_root(talk: Talk) -> None:
    at_root = f"/conversations/{talk.conversation_id}"
    under_api = f"/api/v1/conversations/{talk.conversation_id}"

    conversation = await talk.call("GET", at_root)
    messages = await talk.call("GET", f"{at_root}/messages")

    assert conversation.status_code == 200, conversation.text
    assert conversation.json() == (await talk.call("GET", under_api)).json()
    body = conversation.json()
    assert (body["company_id"], body["channel_id"], body["contact_id"], body["owner_id"]) == (
        talk.tenant_id,
        body["channel"]["id"],
        body["contact"]["id"],
        None,
    )
    assert body["contact_id"] == talk.contact_id
    assert messages.status_code == 200
    assert messages.json() == (await talk.call("GET", f"{under_api}/messages")).json()
    reply = "I received your message: 'hello' and here is a random number: 7"
    assert [(m["sender"], m["content"], m["text"]) for m in messages.json()["items"]] == [
        ("contact", "hello", "hello"),
        ("ai", reply, reply),
    ]


async def test_a_member_writes_and_transfers_at_the_root(talk: Talk, graph_route: GraphApi) -> None:
    at_root = f"/conversations/{talk.conversation_id}"

    written = await talk.call("POST", f"{at_root}/messages", json={"text": "Support here."})
    await talk.router.settle()
    back_to_bot = await talk.call("POST", f"{at_root}/transfer", json={"new_owner_id": None})
    toggled = await talk.call("POST", f"{at_root}/transfer-toggle")
    owned = await talk.call("GET", at_root)

    assert written.status_code == 202, written.text
    assert (written.json()["sender"], written.json()["content"]) == ("agent", "Support here.")
    assert json.loads(graph_route.calls.last.request.content)["text"]["body"] == "Support here."
    # Writing made the conversation the agent's; the transfer gave it back to the bot.
    assert back_to_bot.status_code == 200
    assert back_to_bot.json()["owner_id"] is None
    assert toggled.json() == {"detail": "switched ownership to human"}
    assert owned.json()["owner_id"] == talk.agent.id
    assert owned.json()["owner"] == {"type": "agent", "id": talk.agent.id, "name": "Support Agent"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/conversations/{id}"),
        ("GET", "/conversations/{id}/messages"),
        ("POST", "/conversations/{id}/messages"),
        ("POST", "/conversations/{id}/transfer"),
        ("POST", "/conversations/{id}/transfer-toggle"),
    ],
)
async def test_the_root_paths_need_a_key_as_the_api_does(
    talk: Talk, method: str, path: str
) -> None:
    url = path.format(id=talk.conversation_id)

    without = await talk.router.client.request(method, url, json={"text": "x"})
    wrong = await talk.router.client.request(
        method, url, json={"text": "x"}, headers={"X-API-Key": "not-a-key"}
    )

    assert (without.status_code, wrong.status_code) == (401, 401)
