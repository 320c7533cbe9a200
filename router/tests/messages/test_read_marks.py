"""The conversation list's newest message and unread count, and the read mark behind it."""

from typing import Any

from app.auth.roles import Role
from app.messages.models import Sender

from ..factories import contacts, conversations, tenants
from ..world import Platform, World


async def listed(platform: Platform, key: str) -> dict[int, dict[str, Any]]:
    response = await platform.call("GET", "/api/v1/conversations", key)
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["items"]}


async def test_each_conversation_lists_its_newest_message_and_the_members_unread_count(
    platform: Platform, world: World
) -> None:
    s, t, conv = platform.sessions, world.tenant, world.conversation
    _, agents_key = await tenants.api_key(s, t, Role.AGENT, member_id=world.agent.id)
    _, owners_key = await tenants.api_key(s, t, Role.OWNER, member_id=world.owner.id)
    no_member = world.keys[Role.AGENT]  # a key acting as no member
    quiet = await conversations.conversation(
        s, t, world.channel.id, (await contacts.contact(s, t, "222", name="Quiet")).id
    )

    await conversations.message(s, conv, "Hello?")
    await conversations.message(s, conv, "Hi! How can I help?", sender=Sender.AI, inbound=False)
    await conversations.message(s, conv, "My order is late")

    mine = await listed(platform, agents_key)
    assert mine[conv.id]["unread_count"] == 2  # never read: every message of the contact
    assert mine[conv.id]["last_message"]["text"] == "My order is late"
    assert mine[conv.id]["last_message"]["sender"] == "contact"
    assert mine[quiet.id]["last_message"] is None
    assert mine[quiet.id]["unread_count"] == 0
    assert (await listed(platform, no_member))[conv.id]["unread_count"] is None

    read = await platform.call("POST", f"/api/v1/conversations/{conv.id}/read", agents_key)
    assert read.status_code == 200, read.text
    assert read.json()["member_id"] == world.agent.id
    assert (await listed(platform, agents_key))[conv.id]["unread_count"] == 0
    assert (await listed(platform, owners_key))[conv.id][
        "unread_count"
    ] == 2  # the owner's, not the agent's

    # A member's message is not unread; the contact's next one is, for the agent.
    await conversations.message(
        s, conv, "On its way", sender=Sender.AGENT, inbound=False, author_member_id=world.agent.id
    )
    after_reply = (await listed(platform, agents_key))[conv.id]
    assert after_reply["unread_count"] == 0
    assert after_reply["last_message"]["author"] == {"id": world.agent.id, "name": "Support Agent"}
    await conversations.message(s, conv, "Thanks")
    assert (await listed(platform, agents_key))[conv.id]["unread_count"] == 1


async def test_a_read_mark_is_a_members_and_stays_in_the_tenant(
    platform: Platform, world: World
) -> None:
    s, t, conv = platform.sessions, world.tenant, world.conversation
    _, viewer = await tenants.api_key(
        s, t, Role.VIEWER, member_id=(await tenants.member(s, t, Role.VIEWER, name="Viewer")).id
    )
    await conversations.message(s, conv, "Hello?")
    path = f"/api/v1/conversations/{conv.id}/read"

    assert (await platform.call("POST", path, viewer)).status_code == 200  # reading is reading
    assert (await listed(platform, viewer))[conv.id]["unread_count"] == 0
    no_member = await platform.call("POST", path, world.keys[Role.OWNER])
    assert no_member.status_code == 409
    assert "acts as no member" in no_member.json()["error"]["message"]
    assert (await platform.call("POST", path, world.other_key)).status_code == 404
    assert (await platform.call("POST", path)).status_code == 401
