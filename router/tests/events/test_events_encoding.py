"""How events are written. An event's JSON is made by hand around its object's
(app/events/service.py `envelope`, so an object with several events in one read is encoded once),
and a message's or a conversation's JSON straight from its row (app/events/encoding.py): each must
be what the models write, byte for byte, for every type and every kind of row. The SSE stream is
written by the endpoint itself (a chunk per batch of events), with FastAPI's headers and keep-alive
comment."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from app.channels.models import ChannelType
from app.contacts.schemas import ContactSummary
from app.conversations.models import BOT_NAME, ConversationStatus, window_closes
from app.conversations.schemas import ChannelSummary, ConversationOut, Owner
from app.events import endpoints
from app.events.encoding import conversation_json, message_json
from app.events.hub import EventHub
from app.events.schemas import Event, EventType
from app.messages.schemas import ConversationMessage

from ..conftest import make_settings, running_router
from ..graph_api import GraphApi
from ..jobs.test_durability import post
from ..meta import text_message
from .test_events import OPERATOR, served

TENANT = 1
AT = datetime(2026, 12, 2, 1, 2, 3, 456789)
TEMPLATE = '{"name": "order_ready", "language": {"code": "pt_BR"}, "components": [{"n": 1.5}]}'


def message_row(**changes: Any) -> SimpleNamespace:
    """A row as app/events/repository.py `message_rows` reads it."""
    row = {
        "id": 7,
        "conversation_id": 3,
        "direction": "outbound",
        "sender": "ai",
        "type": "text",
        "text": 'olá \u2028 "quoted" \U0001f600',
        "template": None,
        "status": "sent",
        "error_code": None,
        "error_title": None,
        "wamid": "wamid.encoding.row",
        "agent_id": 2,
        "ignored_by_rule_id": None,
        "created_at": AT,
        "updated_at": AT + timedelta(seconds=1, microseconds=-456789),
        "contact_key": 5,
        "contact_name": "Ana",
        "author_id": None,
        "author_name": None,
        "attachment": None,
    }
    return SimpleNamespace(**(row | changes))


# A stored file, a location and contacts (app/media/attachment.py), as messages carry them.
IMAGE = (
    '{"kind":"image","mime_type":"image/jpeg","file_size":1234,"filename":null,"caption":"ol\u00e1",'
    '"sha256":"' + "ab" * 32 + '","state":"stored","error":null,"key":"t/1/' + "k" * 43 + '",'
    '"media_id":"77","link":null}'
)
LOCATION = (
    '{"kind":"location","latitude":12.25,"longitude":-43.9,"name":"Caf\u00e9","address":null}'
)
CONTACTS = (
    '{"kind":"contacts","contacts":[{"name":"Ana","phones":'
    '[{"phone":"+1 555","wa_id":null,"type":"CELL"}]}]}'
)


def conversation_row(**changes: Any) -> SimpleNamespace:
    """A row as app/events/repository.py `conversation_rows` reads it."""
    row = {
        "id": 3,
        "tenant_id": 2,
        "status": "open",
        "channel_id": 4,
        "last_message_at": AT,
        "last_inbound_at": AT - timedelta(hours=1),
        "created_at": AT - timedelta(days=2),
        "updated_at": AT,
        "contact_key": 5,
        "contact_wa_id": "5511999990000",
        "contact_user_id": None,
        "contact_name": None,
        "owner_id": None,
        "owner_name": None,
        "channel_type": "whatsapp",
        "channel_name": "Sales",
        "channel_phone_number_id": "123456",
        "channel_display_phone_number": "+55 11 99999-0000",
    }
    return SimpleNamespace(**(row | changes))


def conversation_model(r: SimpleNamespace) -> ConversationOut:
    owner = (
        Owner(type="ai", id=None, name=BOT_NAME)
        if r.owner_id is None
        else Owner(type="agent", id=r.owner_id, name=r.owner_name)
    )
    return ConversationOut(
        id=r.id,
        status=ConversationStatus(r.status),
        channel_id=r.channel_id,
        contact=ContactSummary(
            id=r.contact_key, wa_id=r.contact_wa_id, user_id=r.contact_user_id, name=r.contact_name
        ),
        owner=owner,
        last_message_at=r.last_message_at,
        last_inbound_at=r.last_inbound_at,
        window_expires_at=window_closes(r.last_inbound_at),
        created_at=r.created_at,
        updated_at=r.updated_at,
        company_id=r.tenant_id,
        contact_id=r.contact_key,
        owner_id=r.owner_id,
        channel=ChannelSummary(
            id=r.channel_id,
            type=ChannelType(r.channel_type),
            name=r.channel_name,
            phone_number_id=r.channel_phone_number_id,
            display_phone_number=r.channel_display_phone_number,
        ),
    )


@pytest.mark.parametrize(
    "row",
    [
        message_row(),
        message_row(direction="inbound", sender=None, agent_id=None, status="replied"),
        message_row(direction="inbound", sender="contact", contact_name=None),
        message_row(direction="inbound", sender=None, ignored_by_rule_id=9, status="ignored"),
        message_row(sender="agent", agent_id=None, author_id=8, author_name="Bea"),
        message_row(sender=None, type="template", text=None, template=TEMPLATE),
        message_row(status="failed", error_code=131047, error_title="Re-engagement message"),
        message_row(conversation_id=None, wamid=None, created_at=AT.replace(microsecond=0)),
        message_row(created_at=AT.replace(tzinfo=UTC), updated_at=AT.replace(tzinfo=UTC)),
        message_row(direction="inbound", sender="contact", type="image", attachment=IMAGE),
        message_row(direction="inbound", sender="contact", type="location", attachment=LOCATION),
        message_row(direction="inbound", sender="contact", type="contacts", attachment=CONTACTS),
    ],
)
def test_a_message_row_is_written_as_the_api_writes_the_message(row: SimpleNamespace) -> None:
    model = ConversationMessage._made(
        row, (row.contact_key, row.contact_name), (row.author_id, row.author_name)
    )
    assert message_json(row) == model.model_dump_json()


@pytest.mark.parametrize(
    "row",
    [
        conversation_row(),
        conversation_row(last_inbound_at=None, contact_user_id="BR.13491208655302741918"),
        conversation_row(status="closed", owner_id=8, owner_name="Bea", contact_name="Ana"),
        conversation_row(
            channel_type="api", channel_phone_number_id=None, channel_display_phone_number=None
        ),
        conversation_row(last_message_at=AT.replace(microsecond=0)),
    ],
)
def test_a_conversation_row_is_written_as_the_api_writes_the_conversation(
    row: SimpleNamespace,
) -> None:
    assert conversation_json(row) == conversation_model(row).model_dump_json()


async def test_every_event_is_written_as_the_event_model_writes_it(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        await post(router, text_message("wamid.encoding.1", 'héllo \u2028 "quoted"'))
        await router.settle()
        [contact] = (await router.admin("GET", "/api/v1/contacts")).json()["items"]
        edited = await router.admin(
            "PATCH", f"/api/v1/contacts/{contact['id']}", json={"name": "Renamed \u00e9"}
        )
        assert edited.status_code == 200, edited.text
        [conversation] = (await router.admin("GET", "/api/v1/conversations")).json()["items"]
        closed = await router.admin("POST", f"/api/v1/conversations/{conversation['id']}/close")
        assert closed.status_code == 200, closed.text
        hub: EventHub = router.state.events
        events = await hub.replay(TENANT, 0, 500)
        # The objects as the API returns them, now: the events read after the last change
        # carry the same.
        api_conversation = (
            await router.admin("GET", f"/api/v1/conversations/{conversation['id']}")
        ).json()
        api_messages = (
            await router.admin("GET", f"/api/v1/conversations/{conversation['id']}/messages")
        ).json()["items"]

    assert {e.type for e in events} == {t.value for t in EventType}
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    for delivered in events:
        assert Event.model_validate_json(delivered.json).model_dump_json() == delivered.json
    data = [json.loads(e.json)["data"] for e in events]
    conversations = [d for e, d in zip(events, data, strict=True) if e.type.startswith("conv")]
    messages = {d["id"]: d for e, d in zip(events, data, strict=True) if e.type.startswith("mess")}
    assert conversations[-1] == api_conversation
    assert messages == {m["id"]: m for m in api_messages}


async def test_an_idle_stream_gets_a_keep_alive_comment(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "PING_SECONDS", 0.2)
    with served(database_url) as url:
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as client,
            asyncio.timeout(10),
            client.stream("GET", "/api/v1/events", headers=OPERATOR) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            async for line in response.aiter_lines():
                if line == ": ping":
                    break
