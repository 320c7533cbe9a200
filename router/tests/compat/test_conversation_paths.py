"""The conversation backend's paths at the root (`/conversations/{id}`, its messages, transfer and
transfer-toggle) answer exactly as `/api/v1/conversations/...` do, with its names in the JSON
(`company_id`, `contact_id`, `owner_id`; a message's `sender` and `content`)."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from ..graph_api import GraphApi
from ..messages.test_member_messages import Talk, talk_on


async def call(talk: Talk, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"X-API-Key": talk.agent_key, **kwargs.pop("headers", {})}
    return await talk.router.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def talk(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> AsyncIterator[Talk]:
    async for made in talk_on({"database_url": database_url}):
        yield made


async def test_a_conversation_and_its_messages_read_the_same_at_the_root(talk: Talk) -> None:
    at_root = f"/conversations/{talk.conversation_id}"
    under_api = f"/api/v1/conversations/{talk.conversation_id}"

    conversation = await call(talk, "GET", at_root)
    messages = await call(talk, "GET", f"{at_root}/messages")

    assert conversation.status_code == 200, conversation.text
    assert conversation.json() == (await call(talk, "GET", under_api)).json()
    body = conversation.json()
    assert (body["company_id"], body["channel_id"], body["contact_id"], body["owner_id"]) == (
        talk.tenant_id,
        body["channel"]["id"],
        body["contact"]["id"],
        None,
    )
    assert messages.status_code == 200
    assert messages.json() == (await call(talk, "GET", f"{under_api}/messages")).json()
    reply = "I received your message: 'hello' and here is a random number: 7"
    assert [(m["sender"], m["content"], m["text"]) for m in messages.json()["items"]] == [
        ("contact", "hello", "hello"),
        ("ai", reply, reply),
    ]


async def test_a_member_writes_and_transfers_at_the_root(talk: Talk, graph_route: GraphApi) -> None:
    at_root = f"/conversations/{talk.conversation_id}"

    written = await call(talk, "POST", f"{at_root}/messages", json={"text": "Support here."})
    await talk.router.settle()
    back_to_bot = await call(talk, "POST", f"{at_root}/transfer", json={"new_owner_id": None})
    toggled = await call(talk, "POST", f"{at_root}/transfer-toggle")
    owned = await call(talk, "GET", at_root)

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
