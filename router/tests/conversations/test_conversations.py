"""Conversations: read with their contact, owner and window; handed between bot and members."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.auth.roles import Role
from app.conversations.models import Conversation, ConversationStatus
from app.conversations.repository import continue_or_open
from app.messages.models import Sender

from ..backends import migrated_store
from ..factories import channels, contacts, conversations, tenants
from ..world import Platform, World

CLOSED = ConversationStatus.CLOSED
T0 = datetime(2026, 11, 30, 9, 0)


async def test_conversations_are_listed_newest_activity_first_with_contact_and_owner(
    platform: Platform, world: World
) -> None:
    s, t = platform.sessions, world.tenant
    first_customer = await contacts.contact(s, t, "111", name="First Customer")
    second_customer = await contacts.contact(s, t, None, user_id="US.2", name="Second Customer")
    support = await channels.channel(s, t, "900900900")
    human = await conversations.conversation(
        s,
        t,
        world.channel.id,
        first_customer.id,
        owner_member_id=world.agent.id,
        last_message_at=T0,
    )
    closed = await conversations.conversation(
        s, t, support.id, second_customer.id, status=CLOSED, last_message_at=T0 + timedelta(hours=1)
    )
    bot = world.conversation  # the newest: made now
    viewer = world.keys[Role.VIEWER]

    async def ids(**params: object) -> list[int]:
        response = await platform.call("GET", "/api/v1/conversations", viewer, params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    listed = await platform.call("GET", "/api/v1/conversations", viewer)
    items = {c["id"]: c for c in listed.json()["items"]}

    assert await ids() == [bot.id, closed.id, human.id]
    assert items[human.id]["contact"] == {
        "id": first_customer.id,
        "wa_id": "111",
        "user_id": None,
        "name": "First Customer",
    }
    assert items[human.id]["owner"] == {
        "type": "agent",
        "id": world.agent.id,
        "name": "Support Agent",
    }
    assert items[bot.id]["owner"] == {"type": "ai", "id": None, "name": "bot"}
    assert items[human.id]["last_message_at"] == "2026-11-30T09:00:00+00:00"
    assert await ids(status="open") == [bot.id, human.id]
    assert await ids(status="closed") == [closed.id]
    assert await ids(owner="ai") == [bot.id, closed.id]
    assert await ids(owner="agent") == [human.id]
    assert await ids(owner=world.agent.id) == [human.id]
    assert await ids(owner=world.owner.id) == []
    assert await ids(channel_id=support.id) == [closed.id]
    assert await ids(contact_id=first_customer.id) == [human.id]
    pages, cursor = [], None
    for _ in range(4):  # bounded: a cursor that is not applied would loop
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await platform.call("GET", "/api/v1/conversations", viewer, params=params)).json()
        pages += [c["id"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == await ids()
    bad_owner = await platform.call("GET", "/api/v1/conversations", viewer, params={"owner": "x"})
    assert bad_owner.status_code == 422


async def test_a_conversation_shows_its_channel_contact_owner_and_window(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    talk = await conversations.conversation(
        s,
        world.tenant,
        world.channel.id,
        (await contacts.contact(s, world.tenant, "222")).id,
        last_message_at=T0 + timedelta(minutes=5),
        last_inbound_at=T0,
    )

    response = await platform.call(
        "GET", f"/api/v1/conversations/{talk.id}", world.keys[Role.VIEWER]
    )
    never_wrote = await platform.call(
        "GET", f"/api/v1/conversations/{world.conversation.id}", world.keys[Role.VIEWER]
    )

    body = response.json()
    assert body["status"] == "open"
    assert body["window_expires_at"] == "2026-12-01T09:00:00+00:00"
    assert body["channel"] == {
        "id": world.channel.id,
        "type": "whatsapp",
        "name": "Sales",
        "phone_number_id": "100200300",
        "display_phone_number": "+1 555 0100",
    }
    assert body["contact"]["wa_id"] == "222"
    assert body["owner"]["type"] == "ai"
    assert never_wrote.json()["window_expires_at"] is None


async def test_a_conversations_messages_come_oldest_first_with_who_wrote_them(
    platform: Platform, world: World
) -> None:
    s, talk = platform.sessions, world.conversation
    await conversations.message(s, talk, "hi")
    await conversations.message(s, talk, "Hello! How can I help?", sender=Sender.AI, inbound=False)
    await conversations.message(
        s,
        talk,
        "Support here.",
        sender=Sender.AGENT,
        inbound=False,
        author_member_id=world.agent.id,
    )
    await conversations.message(s, talk, "thanks", sender=None)  # before routing named it
    elsewhere = await conversations.conversation(
        s,
        world.tenant,
        world.channel.id,
        (await contacts.contact(s, world.tenant, "333")).id,
    )
    await conversations.message(s, elsewhere, "not this one")
    path = f"/api/v1/conversations/{talk.id}/messages"

    first = await platform.call("GET", path, world.keys[Role.VIEWER], params={"limit": 3})
    rest = await platform.call(
        "GET", path, world.keys[Role.VIEWER], params={"cursor": first.json()["next"]}
    )
    messages = first.json()["items"] + rest.json()["items"]

    assert [(m["text"], m["sender"]) for m in messages] == [
        ("hi", "contact"),
        ("Hello! How can I help?", "ai"),
        ("Support here.", "agent"),
        ("thanks", "contact"),
    ]
    assert [m["author"] for m in messages[:3]] == [
        {"id": world.contact.id, "name": "Customer"},
        {"id": None, "name": "bot"},
        {"id": world.agent.id, "name": "Support Agent"},
    ]
    assert messages[1]["direction"] == "outbound"
    assert messages[1]["status"] == "delivered"
    assert messages[0]["created_at"].endswith("+00:00")
    assert rest.json()["next"] is None


async def test_a_conversation_is_transferred_within_its_tenant(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    viewer = await tenants.member(s, world.tenant, Role.VIEWER, name="Viewer")
    path = f"/api/v1/conversations/{world.conversation.id}/transfer"
    agent = world.keys[Role.AGENT]

    to_agent = await platform.call("POST", path, agent, json={"new_owner_id": world.agent.id})
    to_other_tenant = await platform.call(
        "POST", path, agent, json={"new_owner_id": world.other_member.id}
    )
    to_nobody = await platform.call("POST", path, agent, json={"new_owner_id": 9999})
    to_vic = await platform.call("POST", path, agent, json={"new_owner_id": viewer.id})
    unsaid = await platform.call("POST", path, agent, json={})
    back = await platform.call("POST", path, agent, json={"new_owner_id": None})

    assert to_agent.status_code == 200
    assert to_agent.json()["owner"] == {
        "type": "agent",
        "id": world.agent.id,
        "name": "Support Agent",
    }
    assert to_other_tenant.status_code == 404  # another tenant's member
    assert to_nobody.status_code == 404
    assert to_vic.status_code == 409  # a viewer cannot own a conversation
    assert unsaid.status_code == 422
    assert unsaid.json()["detail"][0]["loc"] == ["body", "new_owner_id"]
    assert back.json()["owner"] == {"type": "ai", "id": None, "name": "bot"}


async def test_the_toggle_makes_a_human_agent_when_the_tenant_has_none(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    shop = await tenants.tenant(s, "Shop")
    _, key = await tenants.api_key(s, shop.id, Role.ADMIN)
    channel = await channels.channel(s, shop.id, "300300300")
    contact = await contacts.contact(s, shop.id)
    talk = await conversations.conversation(s, shop.id, channel.id, contact.id)
    path = f"/api/v1/conversations/{talk.id}/transfer-toggle"

    to_human = await platform.call("POST", path, key)
    owner = (await platform.call("GET", f"/api/v1/conversations/{talk.id}", key)).json()["owner"]
    to_ai = await platform.call("POST", path, key)
    again = await platform.call("POST", path, key)
    members = (await platform.call("GET", "/api/v1/members", key)).json()["items"]

    assert to_human.json() == {"detail": "switched ownership to human"}
    assert to_ai.json() == {"detail": "switched ownership to ai"}
    assert again.json() == {"detail": "switched ownership to human"}
    assert owner["type"] == "agent"
    assert [(m["id"], m["name"], m["role"]) for m in members] == [
        (owner["id"], "Human agent", "agent")  # made once, then reused
    ]


async def test_the_toggle_gives_the_conversation_to_the_member_who_presses_it(
    platform: Platform, world: World
) -> None:
    _, owners_key = await tenants.api_key(
        platform.sessions, world.tenant, Role.OWNER, member_id=world.owner.id
    )
    path = f"/api/v1/conversations/{world.conversation.id}"

    await platform.call("POST", f"{path}/transfer-toggle", owners_key)
    owner = (await platform.call("GET", path, owners_key)).json()["owner"]
    await platform.call("POST", f"{path}/transfer-toggle", world.keys[Role.AGENT])
    integration = await platform.call("POST", f"{path}/transfer-toggle", world.keys[Role.AGENT])
    owner_after = (await platform.call("GET", path, owners_key)).json()["owner"]

    assert owner["id"] == world.owner.id
    assert integration.json() == {"detail": "switched ownership to human"}
    assert owner_after["id"] == world.agent.id  # a key of no member: the tenant's first agent


async def test_a_conversation_is_closed_and_reopened_while_the_contact_has_no_other(
    platform: Platform, world: World
) -> None:
    agent, path = world.keys[Role.AGENT], f"/api/v1/conversations/{world.conversation.id}"

    closed = await platform.call("POST", f"{path}/close", agent)
    newer = await conversations.conversation(
        platform.sessions, world.tenant, world.channel.id, world.contact.id
    )
    refused = await platform.call("POST", f"{path}/reopen", agent)
    await platform.call("POST", f"/api/v1/conversations/{newer.id}/close", agent)
    reopened = await platform.call("POST", f"{path}/reopen", agent)

    assert closed.json()["status"] == "closed"
    assert refused.status_code == 409
    assert "another open conversation" in refused.json()["error"]["message"]
    assert reopened.json()["status"] == "open"


# --- one open conversation per channel and contact, in the store itself ------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        yield engine


async def test_the_store_holds_one_open_conversation_per_channel_and_contact(
    store: AsyncEngine,
) -> None:
    s = async_sessionmaker(store, expire_on_commit=False)
    tenant = await tenants.tenant(s)
    channel = await channels.channel(s, tenant.id)
    contact = await contacts.contact(s, tenant.id)
    await conversations.conversation(s, tenant.id, channel.id, contact.id, status=CLOSED)
    await conversations.conversation(s, tenant.id, channel.id, contact.id)  # closed ones: fine

    with pytest.raises(IntegrityError):
        await conversations.conversation(s, tenant.id, channel.id, contact.id)


async def test_simultaneous_first_messages_continue_one_conversation(store: AsyncEngine) -> None:
    s = async_sessionmaker(store, expire_on_commit=False)
    tenant = await tenants.tenant(s)
    channel = await channels.channel(s, tenant.id)
    contact = await contacts.contact(s, tenant.id)

    async def arrive(at: datetime) -> int:
        async with store.begin() as connection:
            route = await continue_or_open(
                connection, tenant.id, channel.id, contact.id, at=at, inbound=True
            )
        assert route.owner_member_id is None  # a new conversation is the bot's
        return route.conversation_id

    ids = await asyncio.gather(*(arrive(T0 + timedelta(seconds=i)) for i in range(6)))
    async with store.connect() as connection:
        rows = (await connection.execute(select(Conversation.id, Conversation.status))).all()

    assert len(set(ids)) == 1
    assert [tuple(r) for r in rows] == [(ids[0], "open")]


async def test_a_reply_moves_the_activity_and_not_the_window(store: AsyncEngine) -> None:
    s = async_sessionmaker(store, expire_on_commit=False)
    tenant = await tenants.tenant(s)
    channel = await channels.channel(s, tenant.id)
    contact = await contacts.contact(s, tenant.id)
    agent = await tenants.member(s, tenant.id, Role.AGENT)

    async with store.begin() as connection:
        first = await continue_or_open(
            connection, tenant.id, channel.id, contact.id, at=T0, inbound=True
        )
        await connection.execute(update(Conversation).values(owner_member_id=agent.id))
        reply = await continue_or_open(
            connection,
            tenant.id,
            channel.id,
            contact.id,
            at=T0 + timedelta(minutes=1),
            inbound=False,
        )
    async with s() as session:
        talk = await session.get(Conversation, first.conversation_id)

    assert reply == type(reply)(first.conversation_id, agent.id)
    assert talk is not None
    assert talk.last_message_at == T0 + timedelta(minutes=1)
    assert talk.window_expires_at == T0 + timedelta(hours=24)
