"""A scheduled message is an event like any other message: `message.created` (and
`conversation.created` for a contact it opens a conversation with) reach a subscriber the moment
the run is stored, then the message's status events."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import respx

from app.events.hub import EventHub

from ..backends import migrated_postgres
from ..conftest import RouterUnderTest, make_settings, running_router
from ..factories import contacts
from ..graph_api import GraphApi

CHANNEL = 1  # the env's number, the default tenant's channel
TENANT = 1


@pytest.fixture(params=["sqlite", "postgresql"])
async def router(
    request: pytest.FixtureRequest,
    database_url: str,
    mock_http: respx.MockRouter,
    graph_route: GraphApi,
) -> AsyncIterator[RouterUnderTest]:
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    settings = make_settings(database_url=url, router_scheduler_interval_seconds=0.05)
    async with running_router(settings) as under_test:
        yield under_test


async def test_a_scheduled_message_reaches_a_subscriber_as_it_is_stored(
    router: RouterUnderTest,
) -> None:
    # A number that never wrote: the run opens its conversation, and a template goes out.
    contact = await contacts.contact(router.state.sessions, TENANT, wa_id="15550100901")
    hub: EventHub = router.state.events
    async with hub.subscribe(TENANT) as subscription:
        created = await router.admin(
            "POST",
            "/api/v1/schedules",
            json={
                "channel_id": CHANNEL,
                "to": contact.id,
                "template": {"name": "hello_world", "language": "en_US"},
                "send_at": (datetime.now(UTC) + timedelta(seconds=0.2)).isoformat(),
            },
        )
        assert created.status_code == 201, created.text

        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(15):
            while not any(e["type"] == "message.status" for e in seen):
                delivered = await subscription.queue.get()
                assert delivered is not None, "the subscriber was cut off"
                seen.append(json.loads(delivered.json))

    schedule = (await router.admin("GET", f"/api/v1/schedules/{created.json()['id']}")).json()
    [message] = schedule["messages"]
    by_type = {e["type"]: e for e in reversed(seen)}  # the first of each type
    assert [e["type"] for e in seen][:2] == ["conversation.created", "message.created"]
    conversation = by_type["conversation.created"]["data"]
    assert isinstance(conversation, dict)
    assert conversation["contact"]["id"] == contact.id
    new_message = by_type["message.created"]["data"]
    assert isinstance(new_message, dict)
    assert (new_message["id"], new_message["direction"]) == (message["id"], "outbound")
    assert new_message["conversation_id"] == conversation["id"]
