"""Templates and `POST /api/v1/messages`: a text or a template to a contact or a phone number, on
the durable path of a message of its own (stored pending, a job, the number's token, retries,
statuses). Outside the 24-hour window a text is refused before anything is stored; a template goes,
and Meta's refusal of it (132001, 132000, ...) ends the message failed with its code and title."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select

from app.auth.roles import Role
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.clock import utcnow
from app.messages.models import Message

from ..backends import migrated_postgres
from ..conftest import ACCESS_TOKEN, ADMIN_KEY
from ..factories import tenants
from ..graph_api import GraphApi, accepted, meta_error
from ..jobs.test_durability import post
from ..messages.test_member_messages import Talk, set_conversation, talk_on
from ..meta import PHONE_NUMBER_ID, WA_ID, status_update

NEW_NUMBER = "15550009001"
HELLO = {"name": "hello_world", "language": "en_US"}
ORDER = {
    "name": "order_update",
    "language": "en_US",
    "components": [
        {"type": "header", "parameters": [{"type": "text", "text": "#7"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "there"},
                {"type": "text", "text": "#7"},
                {"type": "text", "text": "Monday"},
            ],
        },
    ],
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def talk(
    request: pytest.FixtureRequest,
    database_url: str,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> AsyncIterator[Talk]:
    """A router where a contact wrote to the env's number and the bot answered."""
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    async for made in talk_on({"database_url": url}):
        yield made


async def channel_id(talk: Talk) -> int:
    channels = (await talk.router.admin("GET", "/api/v1/channels")).json()["items"]
    return int(channels[0]["id"])


async def send(talk: Talk, key: str | None = None, **body: Any) -> httpx.Response:
    body.setdefault("channel_id", await channel_id(talk))
    return await talk.router.client.post(
        "/api/v1/messages", json=body, headers={"X-API-Key": key or talk.agent_key}
    )


def sends(graph_route: GraphApi) -> list[dict[str, Any]]:
    return [json.loads(c.request.content) for c in graph_route.calls if c.request.content]


async def test_a_template_to_a_number_that_never_wrote_goes_out(
    talk: Talk, graph_route: GraphApi
) -> None:
    response = await send(talk, to=f"+{NEW_NUMBER}", template=ORDER)
    await talk.router.settle()

    assert response.status_code == 202, response.text
    written = response.json()
    assert (written["type"], written["text"], written["status"]) == ("template", None, "pending")
    assert written["template"] == ORDER
    assert (written["sender"], written["author_member_id"]) == ("agent", talk.agent.id)
    out = sends(graph_route)[-1]
    assert (out["to"], out["type"]) == (NEW_NUMBER, "template")
    assert out["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": ORDER["components"],
    }
    assert out["biz_opaque_callback_data"]  # a tracker, as every part of the durable path
    call = graph_route.calls.last.request
    assert call.url.path.split("/")[2] == PHONE_NUMBER_ID
    assert call.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"

    stored = await talk.stored(written["id"])
    assert stored.status == "accepted"
    assert stored.wamid is not None
    async with talk.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.wa_id == NEW_NUMBER))
        assert contact is not None
        conversation = await session.get(Conversation, stored.conversation_id)
        assert conversation is not None
    assert stored.contact_id == contact.id
    assert conversation.window_expires_at is None  # never wrote: the window is closed

    for status in ("sent", "delivered", "read"):
        await post(talk.router, status_update(stored.wamid, status))
    shown = await talk.router.admin("GET", f"/api/v1/messages/{written['id']}")
    assert (shown.json()["status"], shown.json()["template"]) == ("read", ORDER)
    in_conversation = await talk.router.admin(
        "GET", f"/api/v1/conversations/{stored.conversation_id}/messages"
    )
    assert in_conversation.json()["items"][-1]["template"] == ORDER


async def test_a_text_outside_the_window_is_refused_before_anything_is_stored(
    talk: Talk, graph_route: GraphApi
) -> None:
    sent_before = graph_route.call_count

    to_new = await send(talk, to=NEW_NUMBER, text="hi there")
    then_template = await send(talk, to=NEW_NUMBER, template=HELLO)
    then_text = await send(talk, to=NEW_NUMBER, text="hi again")
    await talk.router.settle()

    assert to_new.status_code == then_text.status_code == 409, to_new.text
    assert "a template is needed" in to_new.json()["error"]["message"]
    assert then_template.status_code == 202
    assert graph_route.call_count == sent_before + 1
    async with talk.sessions() as session:
        texts = await session.scalar(
            select(func.count()).select_from(Message).where(Message.text.like("hi %"))
        )
    assert texts == 0


async def test_a_text_inside_the_window_goes_to_a_contact_by_id(
    talk: Talk, graph_route: GraphApi
) -> None:
    async with talk.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.wa_id == WA_ID))
        assert contact is not None

    response = await send(talk, ADMIN_KEY, to=contact.id, text="Your order shipped")
    await talk.router.settle()

    assert response.status_code == 202, response.text
    # The operator acts as no member: the tenant's automation wrote it, the bot keeps the chat.
    assert (response.json()["sender"], response.json()["author_member_id"]) == ("ai", None)
    assert sends(graph_route)[-1]["text"]["body"] == "Your order shipped"
    assert (await talk.conversation()).owner_member_id is None


async def test_metas_template_refusal_ends_the_message_failed_with_its_code(
    talk: Talk, graph_route: GraphApi
) -> None:
    graph_route.mock(
        return_value=meta_error(
            404,
            132001,
            "(#132001) Template name does not exist in the translation",
            error_data={"details": "template name (no_such) does not exist in en_US"},
        )
    )

    response = await send(talk, to=NEW_NUMBER, template={"name": "no_such", "language": "en_US"})
    await talk.router.settle()

    shown = (await talk.router.admin("GET", f"/api/v1/messages/{response.json()['id']}")).json()
    assert (shown["status"], shown["error_code"]) == ("failed", 132001)
    assert "Template name does not exist" in shown["error_title"]
    assert shown["attempts"] <= 1  # Meta's final word: no retry
    failed = await talk.router.admin("GET", "/api/v1/messages", params={"status": "failed"})
    assert [m["id"] for m in failed.json()["items"]] == [response.json()["id"]]


async def test_a_parameter_count_refusal_is_132000(talk: Talk, graph_route: GraphApi) -> None:
    graph_route.mock(
        side_effect=[
            meta_error(400, 132000, "Number of parameters does not match"),
            accepted("wamid.again"),
        ]
    )

    response = await send(talk, to=NEW_NUMBER, template=ORDER)
    await talk.router.settle()
    failed = await talk.stored(response.json()["id"])
    replay = await talk.router.admin("POST", f"/api/v1/messages/{response.json()['id']}/retry")
    await talk.router.settle()

    assert (failed.status, failed.error_code) == ("failed", 132000)
    assert replay.status_code == 202
    assert (await talk.stored(response.json()["id"])).wamid == "wamid.again"


async def test_a_template_goes_in_a_conversation_whose_window_closed(
    talk: Talk, graph_route: GraphApi
) -> None:
    await set_conversation(talk, last_inbound_at=utcnow() - timedelta(hours=25))

    text = await talk.write("still there?")
    template = await talk.router.client.post(
        f"/api/v1/conversations/{talk.conversation_id}/messages",
        json={"template": HELLO},
        headers={"X-API-Key": talk.agent_key},
    )
    await talk.router.settle()

    assert text.status_code == 409
    assert "a template is needed" in text.json()["error"]["message"]
    assert template.status_code == 202, template.text
    assert (template.json()["type"], template.json()["template"]) == (
        "template",
        {**HELLO, "components": []},
    )
    assert sends(graph_route)[-1]["template"]["name"] == "hello_world"
    assert (await talk.stored(template.json()["id"])).status == "accepted"


MALFORMED_SENDS: list[dict[str, Any]] = [
    {"to": NEW_NUMBER, "text": "hi", "template": HELLO},  # one or the other
    {"to": NEW_NUMBER},
    {"to": NEW_NUMBER, "template": {"name": "hello_world", "language": "xx_YY"}},
    {"to": NEW_NUMBER, "template": {"name": "Hello World", "language": "en_US"}},
    {"to": "12", "text": "hi"},  # not a phone number
    {"to": "7", "template": HELLO},  # a contact's id is a JSON integer
    {"to": 0, "template": HELLO},
    {"to": NEW_NUMBER, "template": HELLO, "channel_id": "1"},
]


# One router for every body: each is refused before anything is stored or sent.
async def test_a_malformed_send_is_422(talk: Talk, graph_route: GraphApi) -> None:
    for body in MALFORMED_SENDS:
        response = await send(talk, **body)
        assert response.status_code == 422, (body, response.text)


async def test_who_may_send(talk: Talk, graph_route: GraphApi) -> None:
    t = talk
    _, viewer_key = await tenants.api_key(t.sessions, t.tenant_id, Role.VIEWER)
    elsewhere = await tenants.tenant(t.sessions, "Elsewhere")
    _, stranger_key = await tenants.api_key(t.sessions, elsewhere.id, Role.OWNER)

    nobody = await t.router.client.post(
        "/api/v1/messages", json={"channel_id": 1, "to": NEW_NUMBER, "template": HELLO}
    )
    viewer = await send(t, viewer_key, to=NEW_NUMBER, template=HELLO)
    stranger = await send(t, stranger_key, to=NEW_NUMBER, template=HELLO)  # not its channel
    operator_elsewhere = await t.router.client.post(
        "/api/v1/messages",
        json={"channel_id": await channel_id(t), "to": NEW_NUMBER, "template": HELLO},
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(elsewhere.id)},
    )

    assert nobody.status_code == 401
    assert viewer.status_code == 403
    assert stranger.status_code == operator_elsewhere.status_code == 404


async def test_an_api_channel_sends_no_template(talk: Talk, graph_route: GraphApi) -> None:
    made = await talk.router.admin(
        "POST", "/api/v1/channels", json={"type": "api", "name": "Web chat"}
    )
    api_channel = made.json()["id"]

    template = await send(talk, channel_id=api_channel, to=NEW_NUMBER, template=HELLO)
    text = await send(talk, channel_id=api_channel, to=NEW_NUMBER, text="hello from the web")
    await talk.router.settle()

    assert template.status_code == 422
    assert template.json()["error"]["message"].startswith("template: ")
    # An api channel has no window: stored is delivered (the integration reads it).
    assert text.status_code == 202, text.text
    assert (await talk.stored(text.json()["id"])).status == "delivered"
