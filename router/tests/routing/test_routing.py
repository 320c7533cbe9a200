"""The message path on the platform: each message is routed by the number it was sent to, to
that channel's contact and conversation; the route step keeps blocked contacts and conversations a
member owns away from the bot; replies go out from the number with its channel's token."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
import structlog
from sqlalchemy import event, select
from structlog.testing import capture_logs

from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.events.models import EventRow
from app.messages.models import Message
from app.tenants.models import Tenant

from ..backends import migrated_postgres
from ..conftest import (
    ACCESS_TOKEN,
    ADMIN_KEY,
    APP_SECRET,
    GRAPH_URL,
    GRAPH_VERSION,
    RouterUnderTest,
    make_settings,
    running_router,
)
from ..factories import channels, tenants
from ..factories.store import Sessions
from ..graph_api import GraphApi
from ..meta import PHONE_NUMBER_ID, WA_ID, batch, fixture, signed, text_message

ACME_NUMBER = "2233445566778"
ACME_TOKEN = "acme-channel-token"
UNKNOWN_NUMBER = "9988776655443"


def to_number(body: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    for entry in body["entry"]:
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = phone_number_id
    return body


@dataclass
class Platform:
    router: RouterUnderTest
    acme: Tenant
    acme_channel: Channel

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.router.state.sessions
        return sessions

    async def post(self, payload: Any) -> httpx.Response:
        body, headers = signed(APP_SECRET, payload)
        response = await self.router.client.post("/webhook", content=body, headers=headers)
        assert response.status_code == 200, response.text
        return response

    async def operator(
        self, method: str, path: str, tenant: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"X-API-Key": ADMIN_KEY}
        if tenant is not None:
            headers["X-Tenant-ID"] = str(tenant)
        return await self.router.client.request(method, path, headers=headers, **kwargs)

    async def messages(self) -> list[Message]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Message).order_by(Message.id))).all())

    async def by_wamid(self, wamid: str) -> Message:
        async with self.sessions() as session:
            message = await session.scalar(select(Message).where(Message.wamid == wamid))
            assert message is not None, wamid
            return message

    async def all(self, model: type[Any]) -> list[Any]:
        async with self.sessions() as session:
            return list((await session.scalars(select(model).order_by(model.id))).all())


async def on_platform(settings: dict[str, str]) -> AsyncIterator[Platform]:
    async with running_router(make_settings(**settings)) as router:
        sessions: Sessions = router.state.sessions
        acme = await tenants.tenant(sessions, "Acme")
        channel = await channels.channel(sessions, acme.id, ACME_NUMBER, token=ACME_TOKEN)
        yield Platform(router, acme, channel)


@pytest.fixture
async def platform(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> AsyncIterator[Platform]:
    """The env's number (the default tenant's channel) and Acme's, on every store and queue."""
    async for made in on_platform(backends):
        yield made


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_platform(
    request: pytest.FixtureRequest,
    database_url: str,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> AsyncIterator[Platform]:
    """The same on each store, with the in-process queue: for rules the queue plays no part in."""
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    async for made in on_platform({"database_url": url}):
        yield made


def server_texts(server_route: respx.Route) -> list[str]:
    return [json.loads(call.request.content)["text"] for call in server_route.calls]


def sends(graph_route: GraphApi) -> list[tuple[str, str, dict[str, Any]]]:
    """Each Graph API send: the number it went out from, the token, the body."""
    return [
        (
            call.request.url.path.split("/")[2],
            call.request.headers["authorization"],
            json.loads(call.request.content),
        )
        for call in graph_route.calls
        if call.request.url.path.endswith("/messages")
    ]


# --- routing by number -------------------------------------------------------------------------


async def test_each_number_is_answered_from_itself_with_its_channels_token(
    platform: Platform, graph_route: GraphApi
) -> None:
    await platform.post(text_message("wamid.default.1", "to the default number"))
    await platform.post(to_number(text_message("wamid.acme.1", "to acme"), ACME_NUMBER))
    await platform.router.settle()

    by_number = {number: (token, body) for number, token, body in sends(graph_route)}
    assert set(by_number) == {PHONE_NUMBER_ID, ACME_NUMBER}
    assert by_number[PHONE_NUMBER_ID][0] == f"Bearer {ACCESS_TOKEN}"
    assert by_number[ACME_NUMBER][0] == f"Bearer {ACME_TOKEN}"
    assert "'to acme'" in by_number[ACME_NUMBER][1]["text"]["body"]
    assert by_number[ACME_NUMBER][1]["to"] == WA_ID

    # One person writing to two companies is a contact of each, in a conversation of each.
    default_in = await platform.by_wamid("wamid.default.1")
    acme_in = await platform.by_wamid("wamid.acme.1")
    assert acme_in.tenant_id == platform.acme.id
    assert acme_in.channel_id == platform.acme_channel.id
    assert default_in.tenant_id != acme_in.tenant_id
    assert default_in.contact_id != acme_in.contact_id
    assert default_in.conversation_id != acme_in.conversation_id
    contacts = await platform.all(Contact)
    assert [(c.tenant_id, c.wa_id, c.name) for c in contacts] == [
        (default_in.tenant_id, WA_ID, "Test Name"),
        (platform.acme.id, WA_ID, "Test Name"),
    ]

    # The reply is the bot's message in the same conversation.
    replies = [m for m in await platform.messages() if m.reply_to_id == acme_in.id]
    assert [(r.sender, r.conversation_id, r.contact_id, r.tenant_id) for r in replies] == [
        ("ai", acme_in.conversation_id, acme_in.contact_id, platform.acme.id)
    ]
    assert acme_in.sender == "contact"


async def test_a_contacts_messages_continue_its_conversation_and_a_reply_moves_only_activity(
    store_platform: Platform,
) -> None:
    p = store_platform
    await p.post(to_number(text_message("wamid.c.1", "one"), ACME_NUMBER))
    await p.router.settle()
    first = await p.by_wamid("wamid.c.1")
    [opened] = await p.all(Conversation)
    assert opened.last_inbound_at == first.created_at  # the contact wrote: the window opens
    assert opened.last_message_at > first.created_at  # then the bot's reply moved the activity

    await p.post(to_number(text_message("wamid.c.2", "two"), ACME_NUMBER))
    await p.router.settle()
    closed = await p.operator("POST", f"/api/v1/conversations/{opened.id}/close", p.acme.id)
    assert closed.status_code == 200, closed.text
    await p.post(to_number(text_message("wamid.c.3", "three"), ACME_NUMBER))
    await p.router.settle()

    second, third = await p.by_wamid("wamid.c.2"), await p.by_wamid("wamid.c.3")
    assert second.conversation_id == opened.id
    assert third.conversation_id not in (None, opened.id)  # closed: a new one is opened
    new = next(c for c in await p.all(Conversation) if c.id == third.conversation_id)
    assert (new.status, new.owner_member_id) == ("open", None)  # the bot's


async def test_a_round_of_many_messages_costs_as_many_statements_as_a_round_of_one(
    store_platform: Platform,
) -> None:
    p = store_platform
    engine = p.router.repository._engine
    executed: list[str] = []

    def count(_: Any, __: Any, statement: str, *args: Any) -> None:
        executed.append(statement)

    async def statements_for(payload: dict[str, Any]) -> int:
        executed.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await p.post(payload)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(executed)

    one = await statements_for(
        to_number(text_message("wamid.r.0", "x", wa_id="15550000000"), ACME_NUMBER)
    )
    await p.router.settle()  # the first message's job runs no statement in the second count
    many = await statements_for(
        to_number(
            batch(
                *(
                    text_message(f"wamid.r.{n}", "x", wa_id=f"155500000{n:02d}", user_id=None)
                    for n in range(1, 41)
                )
            ),
            ACME_NUMBER,
        )
    )
    await p.router.settle()

    # A job's round may still fall inside a count (a claim, a reply, their events): a few
    # statements, where a cost per message would be forty.
    assert many <= one + 5
    assert len({m.contact_id for m in await p.messages() if m.direction == "inbound"}) == 41


# --- a number no channel has -------------------------------------------------------------------


async def test_a_message_to_an_unknown_number_is_kept_unrouted_and_not_answered(
    store_platform: Platform, server_route: respx.Route, graph_route: GraphApi
) -> None:
    p = store_platform
    with capture_logs() as logs:
        first = await p.post(to_number(text_message("wamid.u.1", "anyone?"), UNKNOWN_NUMBER))
        again = await p.post(to_number(text_message("wamid.u.2", "hello?"), UNKNOWN_NUMBER))
        # A later message that is answered: had the unrouted ones been queued, they came first.
        await p.post(text_message("wamid.u.after", "after"))
        await p.router.settle()

    assert first.json()["unrouted"] == 1
    assert again.json() | {"unrouted": 1} == again.json()
    unrouted = await p.by_wamid("wamid.u.1")
    assert (unrouted.status, unrouted.tenant_id, unrouted.conversation_id) == (
        "unrouted",
        None,
        None,
    )
    assert server_texts(server_route) == ["after"]
    assert [number for number, _, _ in sends(graph_route)] == [PHONE_NUMBER_ID]
    warnings = [log for log in logs if log["event"] == "webhook.unknown_number"]
    assert [w["phone_number_id"] for w in warnings] == [UNKNOWN_NUMBER]  # once per number

    listed = await p.operator("GET", "/api/v1/messages", params={"status": "unrouted"})
    assert [m["wamid"] for m in listed.json()["items"]] == ["wamid.u.2", "wamid.u.1"]


async def test_a_number_made_a_channel_is_routed_from_then_on(
    store_platform: Platform, mock_http: respx.MockRouter, server_route: respx.Route
) -> None:
    p = store_platform
    await p.post(to_number(text_message("wamid.n.1", "before"), UNKNOWN_NUMBER))
    mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{UNKNOWN_NUMBER}").respond(
        200, json={"id": UNKNOWN_NUMBER, "display_phone_number": "+1 555 0177"}
    )
    created = await p.operator(
        "POST",
        "/api/v1/channels",
        p.acme.id,
        json={
            "type": "whatsapp",
            "name": "New",
            "phone_number_id": UNKNOWN_NUMBER,
            "access_token": "new-token",
        },
    )
    assert created.status_code == 201, created.text
    await p.post(to_number(text_message("wamid.n.2", "after"), UNKNOWN_NUMBER))
    await p.router.settle()

    assert (await p.by_wamid("wamid.n.1")).status == "unrouted"
    assert (await p.by_wamid("wamid.n.2")).status == "replied"
    assert server_texts(server_route) == ["after"]


async def test_a_channels_new_token_sends_the_next_reply(
    store_platform: Platform, mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    p = store_platform
    await p.post(to_number(text_message("wamid.t.1", "one"), ACME_NUMBER))
    await p.router.settle()
    mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{ACME_NUMBER}").respond(
        200, json={"id": ACME_NUMBER}
    )
    patched = await p.operator(
        "PATCH",
        f"/api/v1/channels/{p.acme_channel.id}",
        p.acme.id,
        json={"access_token": "rotated-token"},
    )
    assert patched.status_code == 200, patched.text
    await p.post(to_number(text_message("wamid.t.2", "two"), ACME_NUMBER))
    await p.router.settle()

    assert [token for _, token, _ in sends(graph_route)] == [
        f"Bearer {ACME_TOKEN}",
        "Bearer rotated-token",
    ]


async def test_a_channel_learns_its_waba_and_display_number_from_the_webhooks(
    store_platform: Platform,
) -> None:
    p = store_platform
    # The env's number is made a channel at start with neither.
    before = (await p.operator("GET", "/api/v1/channels")).json()["items"][0]
    await p.post(text_message("wamid.w.1", "hi"))
    await p.router.settle()
    after = (await p.operator("GET", "/api/v1/channels")).json()["items"][0]

    assert (before["waba_id"], before["display_phone_number"]) == (None, None)
    assert (after["waba_id"], after["display_phone_number"]) == (
        "1234567890987654321",
        "972123456789",
    )
    # One the channel has is kept: Acme's display number was given when it was made.
    await p.post(to_number(text_message("wamid.w.2", "hi"), ACME_NUMBER))
    await p.router.settle()
    acme = (await p.operator("GET", f"/api/v1/channels/{p.acme_channel.id}", p.acme.id)).json()
    assert acme["display_phone_number"] == "+1 555 0100"
    assert acme["waba_id"] == "1234567890987654321"


# --- blocked contacts and conversations a member owns --------------------------------------------


async def test_a_blocked_contacts_messages_are_kept_and_never_answered(
    platform: Platform, server_route: respx.Route, graph_route: GraphApi
) -> None:
    p = platform
    await p.post(to_number(text_message("wamid.b.1", "first"), ACME_NUMBER))
    await p.router.settle()
    contact_id = (await p.by_wamid("wamid.b.1")).contact_id
    blocked = await p.operator("POST", f"/api/v1/contacts/{contact_id}/block", p.acme.id)
    assert blocked.status_code == 200, blocked.text

    await p.post(to_number(text_message("wamid.b.2", "let me in"), ACME_NUMBER))
    # Another contact's message after it: the barrier that the blocked one was handled.
    await p.post(
        to_number(
            text_message("wamid.b.3", "other", wa_id="15550003333", user_id=None), ACME_NUMBER
        )
    )
    await p.router.settle()

    kept = await p.by_wamid("wamid.b.2")
    assert (kept.status, kept.contact_id) == ("blocked", contact_id)
    assert kept.conversation_id == (await p.by_wamid("wamid.b.1")).conversation_id
    assert server_texts(server_route) == ["first", "other"]
    assert [body["to"] for _, _, body in sends(graph_route)] == [WA_ID, "15550003333"]


async def test_while_a_member_owns_a_conversation_the_bot_stays_out_and_answers_after(
    platform: Platform, server_route: respx.Route, graph_route: GraphApi
) -> None:
    p = platform
    await p.post(to_number(text_message("wamid.h.1", "hello bot"), ACME_NUMBER))
    await p.router.settle()
    conversation = (await p.by_wamid("wamid.h.1")).conversation_id
    toggled = await p.operator(
        "POST", f"/api/v1/conversations/{conversation}/transfer-toggle", p.acme.id
    )
    assert toggled.json() == {"detail": "switched ownership to human"}

    await p.post(to_number(text_message("wamid.h.2", "a person please"), ACME_NUMBER))
    await p.post(to_number(text_message("wamid.h.3", "still there?"), ACME_NUMBER))
    await p.router.settle()
    back = await p.operator(
        "POST", f"/api/v1/conversations/{conversation}/transfer-toggle", p.acme.id
    )
    assert back.json() == {"detail": "switched ownership to ai"}
    await p.post(to_number(text_message("wamid.h.4", "bot again"), ACME_NUMBER))
    await p.router.settle()

    # The bot answered before and after; what came meanwhile is shown, not answered.
    assert server_texts(server_route) == ["hello bot", "bot again"]
    assert len(sends(graph_route)) == 2
    for wamid in ("wamid.h.2", "wamid.h.3"):
        held = await p.by_wamid(wamid)
        assert (held.status, held.conversation_id) == ("handed_over", conversation)
    shown = await p.operator("GET", f"/api/v1/conversations/{conversation}/messages", p.acme.id)
    assert [(m["sender"], m["status"]) for m in shown.json()["items"]] == [
        ("contact", "replied"),
        ("ai", "accepted"),
        ("contact", "handed_over"),
        ("contact", "handed_over"),
        ("contact", "replied"),
        ("ai", "accepted"),
    ]


# --- Meta's notices that a contact changed ----------------------------------------------------


def changed_user_id(previous: str, new: str) -> dict[str, Any]:
    """Meta's `user_changed_user_id` system message (its changelog names the fields; no captured
    body of it exists among the fixtures)."""
    body = fixture("system_user_changed_number")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id="wamid.bsuid.changed", from_user_id=new)
    message["system"] = {
        "body": "User A's business-scoped user ID changed",
        "type": "user_changed_user_id",
        "previous_user_id": previous,
        "user_id": new,
    }
    return body


async def test_a_contact_who_changed_number_keeps_their_conversation_and_block(
    store_platform: Platform, server_route: respx.Route
) -> None:
    p = store_platform
    await p.post(text_message("wamid.m.1", "old number", user_id=None))
    await p.router.settle()
    before = await p.by_wamid("wamid.m.1")
    await p.operator("POST", f"/api/v1/contacts/{before.contact_id}/block")

    await p.post(fixture("system_user_changed_number"))  # 972987654321 is now 972912345678
    await p.post(text_message("wamid.m.2", "new number", wa_id="972912345678", user_id=None))
    await p.router.settle()

    [contact] = await p.all(Contact)
    assert (contact.id, contact.wa_id, contact.is_blocked) == (
        before.contact_id,
        "972912345678",
        True,
    )
    after = await p.by_wamid("wamid.m.2")
    assert (after.contact_id, after.conversation_id, after.status) == (
        before.contact_id,
        before.conversation_id,
        "blocked",
    )
    notice = await p.by_wamid("wamid.xyzxyz==")
    assert (notice.contact_id, notice.status) == (before.contact_id, "blocked")
    assert server_texts(server_route) == ["old number"]
    # Blocked through the API, then moved by the webhook: the contact's two events.
    updated = [e.object_id for e in await p.all(EventRow) if e.type == "contact.updated"]
    assert updated == [before.contact_id, before.contact_id]


async def test_a_contact_whose_bsuid_changed_stays_one_contact(
    store_platform: Platform,
) -> None:
    p = store_platform
    old, new = "US.13491208655302741918", "US.99991208655302741918"
    await p.post(text_message("wamid.bs.1", "hi"))  # wa_id and BSUID
    await p.post(changed_user_id(old, new))
    await p.post(text_message("wamid.bs.2", "hi again", user_id=new))
    await p.router.settle()

    [contact] = await p.all(Contact)
    assert (contact.wa_id, contact.user_id) == (WA_ID, new)
    first, second = await p.by_wamid("wamid.bs.1"), await p.by_wamid("wamid.bs.2")
    assert first.conversation_id == second.conversation_id


async def test_a_redelivery_opens_no_conversation_and_moves_none(
    store_platform: Platform,
) -> None:
    p = store_platform
    body = to_number(text_message("wamid.d.1", "once"), ACME_NUMBER)
    await p.post(body)
    await p.router.settle()
    [conversation] = await p.all(Conversation)
    await p.operator("POST", f"/api/v1/conversations/{conversation.id}/close", p.acme.id)

    again = await p.post(body)
    await p.router.settle()

    assert again.json()["duplicates"] == 1
    [still] = await p.all(Conversation)
    assert (still.status, still.last_message_at) == ("closed", conversation.last_message_at)


async def test_what_a_stored_webhook_logs_names_no_token(
    store_platform: Platform,
) -> None:
    p = store_platform
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await p.post(to_number(text_message("wamid.l.1", "hi"), ACME_NUMBER))
        await p.router.settle()

    assert ACME_TOKEN not in repr(logs)
    # What the message path keeps of a channel: its token is there, never in its repr.
    route = await p.router.repository.directory.route(ACME_NUMBER)
    assert route is not None
    assert route.access_token == ACME_TOKEN
    assert ACME_TOKEN not in repr(route)
