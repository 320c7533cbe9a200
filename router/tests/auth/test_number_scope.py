"""An agent or viewer on some numbers sees only those numbers' conversations, messages and inbox
list (their events: tests/events/test_events_scope.py); on none, every number's. Owners and
admins see every number; a key of a member sees what the member sees, and a key limited with
`channel_ids` what it names."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import respx

from app.auth.roles import Role
from app.conversations.models import Conversation
from app.core.clock import utcnow

from ..backends import migrated_postgres
from ..conftest import make_settings, running_router
from ..factories import channels, contacts, conversations, tenants
from ..graph_api import GraphApi
from ..world import Platform, World


@pytest.fixture(params=["sqlite", "postgresql"])
async def platform(
    request: pytest.FixtureRequest, mock_http: respx.MockRouter, database_url: str
) -> AsyncIterator[Platform]:
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    async with running_router(make_settings(database_url=url)) as router:
        yield Platform(router)


@dataclass
class Numbers:
    a: Conversation  # on the world's channel
    b: Conversation  # on a second number of the same tenant
    b_channel: int
    agent_on_a: str  # a key of the world's agent, whom the owner put on number A
    viewer_on_a: str  # a key of a viewer on number A
    agent_on_none: str  # a key of an agent on no number


@pytest.fixture
async def numbers(platform: Platform, world: World) -> Numbers:
    s = platform.sessions
    second = await channels.channel(s, world.tenant, "100200301", name="Support")
    other = await contacts.contact(s, world.tenant, "15550002222", name="Other Customer")
    now = utcnow()
    a = world.conversation
    b = await conversations.conversation(s, world.tenant, second.id, other.id, last_inbound_at=now)
    await conversations.message(s, a, "on A")
    await conversations.message(s, b, "on B")
    async with s() as session:  # A's window open too: members may write in it
        stored = await session.get(Conversation, a.id)
        assert stored is not None
        stored.last_inbound_at = now
        await session.commit()
    viewer = await tenants.member(s, world.tenant, Role.VIEWER, name="Viewer")
    free = await tenants.member(s, world.tenant, Role.AGENT, name="Free Agent")
    owner = world.keys[Role.OWNER]
    for member in (world.agent, viewer):
        given = await platform.call(
            "POST",
            f"/api/v1/members/{member.id}/channels",
            owner,
            json={"channel_id": world.channel.id},
        )
        assert given.status_code == 201, given.text
    _, agent_key = await tenants.api_key(s, world.tenant, Role.AGENT, world.agent.id)
    _, viewer_key = await tenants.api_key(s, world.tenant, Role.VIEWER, viewer.id)
    _, free_key = await tenants.api_key(s, world.tenant, Role.AGENT, free.id)
    return Numbers(a, b, second.id, agent_key, viewer_key, free_key)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


async def test_an_agent_on_a_number_sees_only_its_conversations(
    platform: Platform, world: World, numbers: Numbers, graph_route: GraphApi
) -> None:
    key, a, b = numbers.agent_on_a, numbers.a.id, numbers.b.id

    assert ids(await platform.call("GET", "/api/v1/conversations", key)) == [a]
    assert (await platform.call("GET", f"/api/v1/conversations/{a}", key)).status_code == 200
    assert (await platform.call("GET", f"/api/v1/conversations/{b}", key)).status_code == 404
    on_a = await platform.call("GET", f"/api/v1/conversations/{a}/messages", key)
    assert [m["text"] for m in on_a.json()["items"]] == ["on A"]
    on_b = await platform.call("GET", f"/api/v1/conversations/{b}/messages", key)
    assert on_b.status_code == 404
    # Filters do not reach past the numbers: B's contact's conversations are none of its own.
    filtered = await platform.call(
        "GET", "/api/v1/conversations", key, params={"contact_id": numbers.b.contact_id}
    )
    assert ids(filtered) == []
    by_channel = await platform.call(
        "GET", "/api/v1/conversations", key, params={"channel_id": numbers.b_channel}
    )
    assert ids(by_channel) == []

    written = await platform.call(
        "POST", f"/api/v1/conversations/{a}/messages", key, json={"text": "hello A"}
    )
    refused = await platform.call(
        "POST", f"/api/v1/conversations/{b}/messages", key, json={"text": "hello B"}
    )
    assert written.status_code == 202, written.text
    assert refused.status_code == 404
    send = {"to": numbers.b.contact_id, "text": "hi"}
    sent_on_b = await platform.call(
        "POST", "/api/v1/messages", key, json={**send, "channel_id": numbers.b_channel}
    )
    assert sent_on_b.status_code == 404

    transfer = {"new_owner_id": world.agent.id}
    moved = await platform.call("POST", f"/api/v1/conversations/{a}/transfer", key, json=transfer)
    not_moved = await platform.call(
        "POST", f"/api/v1/conversations/{b}/transfer", key, json=transfer
    )
    assert moved.status_code == 200, moved.text
    assert not_moved.status_code == 404
    for action in ("close", "reopen", "transfer-toggle", "read"):
        path = f"/api/v1/conversations/{b}/{action}"
        assert (await platform.call("POST", path, key)).status_code == 404, action
    await platform.router.settle()  # the message written on A goes out here


async def test_the_inbox_list_of_a_viewer_on_a_number(platform: Platform, numbers: Numbers) -> None:
    # As the inbox page asks for it.
    params = {"status": "open", "limit": 100}
    listed = await platform.call("GET", "/api/v1/conversations", numbers.viewer_on_a, params=params)

    assert ids(listed) == [numbers.a.id]
    [item] = listed.json()["items"]
    assert item["last_message"]["text"] == "on A"


async def test_on_no_number_and_owners_and_admins_see_every_number(
    platform: Platform, world: World, numbers: Numbers
) -> None:
    both = sorted([numbers.a.id, numbers.b.id])
    for key in (numbers.agent_on_none, world.keys[Role.OWNER], world.keys[Role.ADMIN]):
        assert ids(await platform.call("GET", "/api/v1/conversations", key)) == both
        b = await platform.call("GET", f"/api/v1/conversations/{numbers.b.id}", key)
        assert b.status_code == 200
    # An admin on a number still sees them all.
    _, admins = await tenants.api_key(platform.sessions, world.tenant, Role.ADMIN, world.owner.id)
    await platform.call(
        "POST", "/api/v1/users/me/devices", admins, json={"channel_id": world.channel.id}
    )
    assert ids(await platform.call("GET", "/api/v1/conversations", admins)) == both
    # Taken off their number, the agent sees every number again.
    off = await platform.call(
        "DELETE",
        f"/api/v1/members/{world.agent.id}/channels/{world.channel.id}",
        world.keys[Role.OWNER],
    )
    assert off.status_code == 204
    assert ids(await platform.call("GET", "/api/v1/conversations", numbers.agent_on_a)) == both


async def test_a_key_limited_to_numbers_sees_only_them(
    platform: Platform, world: World, numbers: Numbers
) -> None:
    owner = world.keys[Role.OWNER]
    made = await platform.call(
        "POST",
        "/api/v1/api-keys",
        owner,
        json={"name": "support desk", "role": "agent", "channel_ids": [numbers.b_channel]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["channel_ids"] == [numbers.b_channel]
    key = made.json()["key"]
    listed = await platform.call("GET", "/api/v1/api-keys", owner)

    assert ids(await platform.call("GET", "/api/v1/conversations", key)) == [numbers.b.id]
    assert (
        await platform.call("GET", f"/api/v1/conversations/{numbers.a.id}", key)
    ).status_code == 404
    assert [
        m["text"] for m in (await platform.call("GET", "/api/v1/messages", key)).json()["items"]
    ] == ["on B"]
    assert next(k for k in listed.json()["items"] if k["id"] == made.json()["id"])[
        "channel_ids"
    ] == [numbers.b_channel]
    unlimited = next(k for k in listed.json()["items"] if k["id"] != made.json()["id"])
    assert unlimited["channel_ids"] is None

    # A key of the agent on A limited to B sees neither.
    both_limits = await platform.call(
        "POST",
        "/api/v1/api-keys",
        owner,
        json={
            "name": "narrow",
            "role": "agent",
            "member_id": world.agent.id,
            "channel_ids": [numbers.b_channel],
        },
    )
    assert ids(await platform.call("GET", "/api/v1/conversations", both_limits.json()["key"])) == []


async def test_a_key_is_limited_only_to_the_tenants_numbers(
    platform: Platform, world: World
) -> None:
    theirs = await channels.channel(platform.sessions, world.other_tenant, "900800700")
    owner = world.keys[Role.OWNER]

    async def make(channel_ids: Any) -> int:
        body = {"name": "k", "role": "viewer", "channel_ids": channel_ids}
        return (await platform.call("POST", "/api/v1/api-keys", owner, json=body)).status_code

    assert await make([theirs.id]) == 404
    assert await make([world.channel.id, theirs.id]) == 404
    assert await make([]) == 422  # null (or nothing) for every number; never "none"
    for role in ("owner", "admin"):  # they manage keys and numbers: never limited
        body = {"name": "k", "role": role, "channel_ids": [world.channel.id]}
        refused = await platform.call("POST", "/api/v1/api-keys", owner, json=body)
        assert refused.status_code == 409
        assert "channel_ids" in refused.json()["error"]["message"]
    assert await make(["x"]) == 422
    assert await make(None) == 201


async def test_the_message_log_of_an_agent_on_a_number(
    platform: Platform, numbers: Numbers
) -> None:
    key = numbers.agent_on_a
    page = await platform.call("GET", "/api/v1/messages", key)
    texts = [m["text"] for m in page.json()["items"]]
    of_b = next(
        m["id"]
        for m in (await platform.call("GET", "/api/v1/messages", numbers.agent_on_none)).json()[
            "items"
        ]
        if m["text"] == "on B"
    )
    stats = await platform.call("GET", "/api/v1/messages/stats", key)

    assert texts == ["on A"]
    assert (await platform.call("GET", f"/api/v1/messages/{of_b}", key)).status_code == 404
    assert (await platform.call("POST", f"/api/v1/messages/{of_b}/retry", key)).status_code == 404
    assert sum(stats.json()["inbound"].values()) == 1
