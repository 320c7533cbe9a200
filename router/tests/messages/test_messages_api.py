"""`/api/v1/messages` on the platform: a tenant's key sees its tenant's messages only; the
operator's key sees them all."""

from typing import Any

from app.auth.roles import Role
from app.conversations.models import Conversation
from app.messages.models import InboundStatus, Message

from ..conftest import ADMIN_KEY, make_settings, running_router
from ..factories import channels, contacts, conversations
from ..factories.store import add
from ..world import Platform, World


async def a_message_each(platform: Platform, world: World) -> tuple[Message, Message, Message]:
    """One message in our tenant, one in the other, and one to a number no channel has."""
    s = platform.sessions
    ours = await conversations.message(s, world.conversation, "ours")
    other_channel = await channels.channel(s, world.other_tenant, "700800900")
    other_contact = await contacts.contact(s, world.other_tenant)
    other_conversation: Conversation = await conversations.conversation(
        s, world.other_tenant, other_channel.id, other_contact.id
    )
    theirs = await conversations.message(s, other_conversation, "theirs")
    unrouted = await add(
        s,
        Message(
            direction="inbound",
            wamid="wamid.unrouted",
            phone_number_id="555",
            contact="15550001234",
            type="text",
            text="anyone?",
            status=InboundStatus.UNROUTED.value,
            attempts=0,
        ),
    )
    return ours, theirs, unrouted


def texts(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(m["text"] for m in response.json()["items"])


async def test_a_tenants_key_sees_its_tenants_messages_and_the_operator_all(
    platform: Platform, world: World
) -> None:
    await a_message_each(platform, world)
    viewer = world.keys[Role.VIEWER]

    assert texts(await platform.call("GET", "/api/v1/messages", viewer)) == ["ours"]
    # A tenant it names is no other's to see.
    named = await platform.call(
        "GET", "/api/v1/messages", viewer, headers={"X-Tenant-ID": str(world.other_tenant)}
    )
    assert texts(named) == ["ours"]
    assert texts(await platform.call("GET", "/api/v1/messages", world.other_key)) == ["theirs"]
    assert texts(await platform.call("GET", "/api/v1/messages", ADMIN_KEY)) == [
        "anyone?",
        "ours",
        "theirs",
    ]


async def test_another_tenants_message_is_404_and_not_counted(
    platform: Platform, world: World
) -> None:
    ours, theirs, _ = await a_message_each(platform, world)
    viewer = world.keys[Role.VIEWER]

    mine = await platform.call("GET", f"/api/v1/messages/{ours.id}", viewer)
    other = await platform.call("GET", f"/api/v1/messages/{theirs.id}", viewer)
    by_operator = await platform.call("GET", f"/api/v1/messages/{theirs.id}", ADMIN_KEY)
    stats = await platform.call("GET", "/api/v1/messages/stats", viewer)
    everything = await platform.call("GET", "/api/v1/messages/stats", ADMIN_KEY)

    assert (mine.status_code, other.status_code, by_operator.status_code) == (200, 404, 200)
    assert mine.json()["tenant_id"] == world.tenant
    assert mine.json()["conversation_id"] == world.conversation.id
    assert mine.json()["sender"] == "contact"
    assert stats.json() == {"inbound": {"replied": 1}, "outbound": {}}
    assert everything.json() == {"inbound": {"replied": 2, "unrouted": 1}, "outbound": {}}


async def test_a_replay_needs_an_agents_role_in_the_messages_tenant(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    failed = await conversations.message(s, world.conversation, "lost")
    async with s() as session:
        row = await session.get(Message, failed.id)
        assert row is not None
        row.status = InboundStatus.FAILED.value
        await session.commit()

    viewer = await platform.call(
        "POST", f"/api/v1/messages/{failed.id}/retry", world.keys[Role.VIEWER]
    )
    other = await platform.call("POST", f"/api/v1/messages/{failed.id}/retry", world.other_key)
    agent = await platform.call(
        "POST", f"/api/v1/messages/{failed.id}/retry", world.keys[Role.AGENT]
    )

    assert (viewer.status_code, other.status_code, agent.status_code) == (403, 404, 202)


async def test_keys_that_are_not_keys_are_401_and_tenants_keys_need_no_operator(
    platform: Platform, world: World, database_url: str
) -> None:
    forged = world.keys[Role.OWNER][:-4] + "xxxx"

    assert (await platform.call("GET", "/api/v1/messages")).status_code == 401
    assert (await platform.call("GET", "/api/v1/messages", forged)).status_code == 401
    async with running_router(
        make_settings(database_url=database_url, router_admin_api_key=None)
    ) as unconfigured:
        tenant_key = await unconfigured.client.get(
            "/api/v1/messages", headers={"X-API-Key": world.keys[Role.VIEWER]}
        )
        anything_else = await unconfigured.client.get(
            "/api/v1/messages", headers={"X-API-Key": "x"}
        )
    assert tenant_key.status_code == 200
    assert anything_else.status_code == 503  # the operator's API is off, as before
