"""The API's writes store their events in the same transaction, and each event's object is the
one the API returns."""

import json
from typing import Any

from sqlalchemy import select

from app.auth.roles import Role
from app.core.clock import utcnow
from app.events.hub import EventHub
from app.events.models import EventRow

from ..factories import conversations
from ..graph_api import GraphApi
from ..world import Platform, World


async def stored_events(platform: Platform) -> list[tuple[str, int]]:
    async with platform.sessions() as session:
        rows = (await session.scalars(select(EventRow).order_by(EventRow.id))).all()
    return [(r.type, r.object_id) for r in rows]


async def test_every_write_of_the_api_stores_its_event(
    platform: Platform, world: World, graph_route: GraphApi
) -> None:
    owner = world.keys[Role.OWNER]
    conversation = await conversations.conversation(
        platform.sessions,
        world.tenant,
        world.channel.id,
        (await _contact(platform, owner)),
        last_inbound_at=utcnow(),
    )
    c = f"/api/v1/conversations/{conversation.id}"
    contact = f"/api/v1/contacts/{conversation.contact_id}"
    answers: list[Any] = [
        await platform.call("POST", f"{c}/transfer", owner, json={"new_owner_id": world.agent.id}),
        await platform.call("POST", f"{c}/transfer-toggle", owner),  # back to the bot
        await platform.call(
            "POST", f"{c}/messages", owner, json={"text": "hi", "author_id": world.agent.id}
        ),
        await platform.call("POST", f"{c}/close", owner),
        await platform.call("POST", f"{c}/reopen", owner),
        await platform.call("PATCH", contact, owner, json={"name": "Customer (edited)"}),
        await platform.call("POST", f"{contact}/block", owner),
        await platform.call("DELETE", f"{contact}/block", owner),
    ]
    for answer in answers:
        assert answer.status_code < 300, answer.text
    written = answers[2].json()["id"]

    # The API's writes (the member's message's job adds its own `message.status` as it goes out).
    assert [e for e in await stored_events(platform) if e[0] != "message.status"] == [
        ("conversation.updated", conversation.id),
        ("conversation.updated", conversation.id),
        ("message.created", written),
        ("conversation.updated", conversation.id),  # writing took it over
        ("conversation.updated", conversation.id),
        ("conversation.updated", conversation.id),
        ("contact.updated", conversation.contact_id),
        ("contact.updated", conversation.contact_id),
        ("contact.updated", conversation.contact_id),
    ]
    # Replayed, each event carries its object as the API returns it now.
    hub: EventHub = platform.router.state.events
    replayed = [e.json for e in await hub.replay(world.tenant, 0, 100)]
    shown_conversation = (await platform.call("GET", c, owner)).json()
    shown_contact = (await platform.call("GET", contact, owner)).json()
    shown_messages = (await platform.call("GET", f"{c}/messages", owner)).json()["items"]
    events = [json.loads(e) for e in replayed]
    data = [e["data"] for e in events if e["type"] != "message.status"]
    assert data[0] == shown_conversation
    assert data[2] == shown_messages[-1]
    assert data[2]["conversation_id"] == conversation.id
    assert data[-1] == shown_contact
    # No event of another tenant's, and none from a write that failed.
    refused = await platform.call(
        "POST", f"{c}/transfer", world.other_key, json={"new_owner_id": None}
    )
    assert refused.status_code == 404
    api_writes = [e for e in await stored_events(platform) if e[0] != "message.status"]
    assert len(api_writes) == 9
    # Its member's message is sent here (the Graph API stand-in runs), not in the next test.
    await platform.router.settle()


async def _contact(platform: Platform, key: str) -> int:
    made = await platform.call("POST", "/api/v1/contacts", key, json={"wa_id": "15550008888"})
    assert made.status_code == 201, made.text
    contact_id: int = made.json()["id"]
    return contact_id
