"""`POST /api/v1/conversations/{id}/messages`: a member writes to the contact. The message is
stored first and sent by a job of its own on the durable path (the channel's number and token,
retries, statuses, exactly once, resumed after a crash)."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select, update

from app.auth.roles import Role
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.clock import utcnow
from app.members.models import Member
from app.messages.models import Message
from app.outbound.trackers import new_tracker

from ..backends import migrated_postgres
from ..conftest import (
    ACCESS_TOKEN,
    ADMIN_KEY,
    RouterUnderTest,
    make_settings,
    running_router,
)
from ..factories import tenants
from ..factories.store import Sessions
from ..graph_api import STALL, GraphApi, accepted, meta_error
from ..jobs.test_durability import post
from ..meta import PHONE_NUMBER_ID, WA_ID, status_update, text_message
from ..routing.test_routing import to_number
from ..support import key, messages_moved, scrape, wait_until


@dataclass
class Talk:
    """A router where a contact wrote to the env's number and the bot answered."""

    router: RouterUnderTest
    conversation_id: int
    tenant_id: int
    agent: Member
    agent_key: str  # a key acting as the agent

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.router.state.sessions
        return sessions

    async def write(self, text: str, key: str | None = None, **fields: Any) -> httpx.Response:
        return await self.router.client.post(
            f"/api/v1/conversations/{self.conversation_id}/messages",
            # json.dumps escapes what UTF-8 cannot encode (a lone surrogate), as JSON allows.
            content=json.dumps({"text": text, **fields}),
            headers={"X-API-Key": key or self.agent_key, "Content-Type": "application/json"},
        )

    async def stored(self, message_id: int) -> Message:
        async with self.sessions() as session:
            message = await session.get(Message, message_id)
            assert message is not None
            return message

    async def conversation(self) -> Conversation:
        async with self.sessions() as session:
            found = await session.get(Conversation, self.conversation_id)
            assert found is not None
            return found


async def talk_on(settings: dict[str, Any]) -> AsyncIterator[Talk]:
    async with running_router(make_settings(**settings)) as router:
        await post(router, text_message("wamid.in.hello", "hello"))
        await router.settle()
        sessions: Sessions = router.state.sessions
        async with sessions() as session:
            inbound = await session.scalar(select(Message).where(Message.wamid == "wamid.in.hello"))
        assert inbound is not None
        assert inbound.tenant_id is not None
        assert inbound.conversation_id is not None
        agent = await tenants.member(sessions, inbound.tenant_id, Role.AGENT, name="Support Agent")
        _, key = await tenants.api_key(sessions, inbound.tenant_id, Role.AGENT, agent.id)
        yield Talk(router, inbound.conversation_id, inbound.tenant_id, agent, key)


@pytest.fixture
async def talk(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> AsyncIterator[Talk]:
    async for made in talk_on(backends):
        yield made


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, database_url: str) -> str:
    return await migrated_postgres() if request.param == "postgresql" else database_url


@pytest.fixture
async def store_talk(
    store_url: str, server_route: respx.Route, graph_route: GraphApi
) -> AsyncIterator[Talk]:
    async for made in talk_on({"database_url": store_url}):
        yield made


def sent(graph_route: GraphApi) -> list[dict[str, Any]]:
    return [json.loads(c.request.content) for c in graph_route.calls]


async def test_a_members_message_reaches_the_contact_and_its_statuses_move_it(
    talk: Talk, graph_route: GraphApi, server_route: respx.Route
) -> None:
    response = await talk.write("Hi, this is support")
    await talk.router.settle()

    assert response.status_code == 202, response.text
    written = response.json()
    assert (written["sender"], written["author"], written["status"]) == (
        "agent",
        {"id": talk.agent.id, "name": "Support Agent"},
        "pending",
    )
    call = graph_route.calls.last.request
    assert call.url.path.split("/")[2] == PHONE_NUMBER_ID
    assert call.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert (sent(graph_route)[-1]["to"], sent(graph_route)[-1]["text"]["body"]) == (
        WA_ID,
        "Hi, this is support",
    )
    stored = await talk.stored(written["id"])
    assert (stored.status, stored.author_member_id, stored.conversation_id) == (
        "accepted",
        talk.agent.id,
        talk.conversation_id,
    )
    conversation = await talk.conversation()
    assert conversation.owner_member_id == talk.agent.id  # writing took it over from the bot
    assert conversation.last_message_at >= stored.created_at
    assert conversation.last_inbound_at is not None
    assert conversation.last_inbound_at < stored.created_at  # the window is the contact's

    assert stored.wamid is not None
    for status in ("sent", "delivered", "read"):
        await post(talk.router, status_update(stored.wamid, status))
    assert (await talk.stored(written["id"])).status == "read"

    # The conversation is the member's now: the contact's answer is not the bot's to answer.
    await post(talk.router, text_message("wamid.in.thanks", "thanks"))
    await talk.router.settle()
    assert [json.loads(c.request.content)["text"] for c in server_route.calls] == ["hello"]
    assert graph_route.call_count == 2


async def test_a_members_messages_go_out_in_the_order_written(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    for n in range(5):
        assert (await store_talk.write(f"part {n}")).status_code == 202
    await store_talk.router.settle()

    assert [p["text"]["body"] for p in sent(graph_route)][1:] == [f"part {n}" for n in range(5)]


async def test_a_send_that_fails_for_a_while_is_retried_and_sent_once(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    graph_route.mock(
        side_effect=[httpx.Response(503), meta_error(429, 130429, "Rate limit hit"), accepted("w")]
    )

    written = (await store_talk.write("are you there?")).json()
    await store_talk.router.settle()

    stored = await store_talk.stored(written["id"])
    assert (stored.status, stored.wamid, stored.attempts) == ("accepted", "w", 3)


async def test_a_refused_message_fails_with_metas_code_and_is_replayed(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    graph_route.mock(side_effect=[meta_error(400, 131026, "Message undeliverable"), accepted("w2")])

    written = (await store_talk.write("hello?")).json()
    await store_talk.router.settle()
    failed = await store_talk.stored(written["id"])
    replay = await store_talk.router.admin("POST", f"/api/v1/messages/{written['id']}/retry")
    await store_talk.router.settle()
    again = await store_talk.stored(written["id"])

    assert (failed.status, failed.error_code) == ("failed", 131026)
    assert replay.status_code == 202
    assert (again.status, again.wamid, again.error_code) == ("accepted", "w2", None)


async def set_conversation(talk: Talk, **values: Any) -> None:
    async with talk.sessions() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == talk.conversation_id).values(**values)
        )
        await session.commit()


async def test_a_message_outside_the_24_hour_window_is_refused_saying_a_template_is_needed(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    await set_conversation(store_talk, last_inbound_at=utcnow() - timedelta(hours=24, seconds=1))

    response = await store_talk.write("still there?")

    assert response.status_code == 409
    assert "template" in response.json()["error"]["message"]
    assert graph_route.call_count == 1  # the bot's reply to "hello" only


async def test_a_blocked_contact_or_a_closed_conversation_is_written_to_by_no_one(
    store_talk: Talk,
) -> None:
    async with store_talk.sessions() as session:
        await session.execute(update(Contact).values(is_blocked=True))
        await session.commit()
    blocked = await store_talk.write("hi")
    async with store_talk.sessions() as session:
        await session.execute(update(Contact).values(is_blocked=False))
        await session.commit()
    await set_conversation(store_talk, status="closed")
    closed = await store_talk.write("hi")

    assert blocked.status_code == closed.status_code == 409
    assert "blocked" in blocked.json()["error"]["message"]
    assert "closed" in closed.json()["error"]["message"]
    async with store_talk.sessions() as session:
        outbound = await session.scalars(select(Message.sender).where(Message.sender == "agent"))
        assert outbound.all() == []


async def test_who_the_author_is(store_talk: Talk) -> None:
    t = store_talk
    s = t.sessions
    _, owner_key = await tenants.api_key(s, t.tenant_id, Role.OWNER)
    viewer = await tenants.member(s, t.tenant_id, Role.VIEWER, name="Viewer")
    owner = await tenants.member(s, t.tenant_id, Role.OWNER, name="Owner")
    elsewhere = await tenants.tenant(s, "Elsewhere")
    stranger = await tenants.member(s, elsewhere.id, Role.AGENT, name="Other Tenant Agent")

    no_member = await t.write("hi", owner_key)
    as_agent = await t.write("hi", owner_key, author_id=t.agent.id)
    by_operator = await t.write("hi", ADMIN_KEY, author_id=owner.id)
    agent_for_owner = await t.write("hi", t.agent_key, author_id=owner.id)
    a_viewer = await t.write("hi", owner_key, author_id=viewer.id)
    another_tenants = await t.write("hi", owner_key, author_id=stranger.id)

    assert no_member.status_code == 409
    assert no_member.json()["error"]["message"].startswith("author_id: ")
    assert (as_agent.status_code, as_agent.json()["author"]["id"]) == (202, t.agent.id)
    assert (by_operator.status_code, by_operator.json()["author"]["id"]) == (202, owner.id)
    assert agent_for_owner.status_code == 403
    assert a_viewer.status_code == 409
    assert another_tenants.status_code == 404
    await t.router.settle()


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
async def test_a_text_whatsapp_would_refuse_is_422(store_talk: Talk, text: str) -> None:
    response = await store_talk.write(text)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]


async def test_a_text_the_store_cannot_keep_is_made_storable_or_refused(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    nul = await store_talk.write("a\x00b")
    lone_surrogate = await store_talk.write("a\ud800b")
    await store_talk.router.settle()

    assert nul.status_code == 202
    assert sent(graph_route)[-1]["text"]["body"] == "a\ufffdb"
    assert lone_surrogate.status_code == 422  # not a 500: the refusal echoes it, escaped
    assert lone_surrogate.json()["detail"][0]["loc"] == ["body", "text"]


# --- after a crash -------------------------------------------------------------------------------


async def test_a_message_stored_and_never_queued_is_sent_by_the_next_start(
    store_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = {"database_url": store_url}
    async for talk in talk_on(settings):
        # A router that died between storing the message and queueing it (or lost its queue).
        await talk.router.state.sweeper.stop()
        talk.router.state.queue.enqueue = _lost  # type: ignore[method-assign]
        written = (await talk.write("written before the crash")).json()
    assert graph_route.call_count == 1

    async with running_router(make_settings(**settings)) as router:
        await router.settle()

    assert [p["text"]["body"] for p in sent(graph_route)][1:] == ["written before the crash"]
    assert written["status"] == "pending"


async def _lost(message_id: int) -> None:
    raise ConnectionError("the queue is gone")


async def test_a_send_meta_accepted_before_a_crash_is_adopted_not_sent_again(
    store_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = {"database_url": store_url, "router_resend_wait_seconds": 30}
    async for talk in talk_on(settings):
        await talk.router.state.sweeper.stop()
        graph_route.mock(side_effect=[STALL])  # accepted by Meta; the answer never comes back
        written = (await talk.write("hi again")).json()
        message_id: int = written["id"]
        await wait_until(lambda: _tracked(talk, message_id))  # noqa: B023 - awaited at once
        tracker = (await talk.stored(written["id"])).tracker
        assert tracker is not None
    sends = graph_route.call_count

    async with running_router(make_settings(**settings)) as router:
        # Meta's statuses of the send name its tracker: the resumed job adopts its wamid.
        for status in ("sent", "delivered"):
            await post(router, status_update("wamid.out.meta", status, tracker=tracker))
        await router.settle()
        async with router.state.sessions() as session:
            stored = await session.get(Message, written["id"])

    assert graph_route.call_count == sends  # never sent a second time
    assert stored is not None
    assert (stored.wamid, stored.status) == ("wamid.out.meta", "delivered")


async def _tracked(talk: Talk, message_id: int) -> bool:
    return (await talk.stored(message_id)).tracker is not None


async def test_a_contact_blocked_before_the_job_runs_is_not_written_to(
    store_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = {"database_url": store_url}
    async for talk in talk_on(settings):
        await talk.router.state.sweeper.stop()
        talk.router.state.queue.enqueue = _lost  # type: ignore[method-assign]
        written = (await talk.write("one more thing")).json()
        async with talk.sessions() as session:
            await session.execute(update(Contact).values(is_blocked=True))
            await session.commit()

    async with running_router(make_settings(**settings)) as router:
        await router.settle()
        async with router.state.sessions() as session:
            stored = await session.get(Message, written["id"])

    assert graph_route.call_count == 1  # the bot's reply to "hello" only
    assert stored is not None
    assert (stored.status, stored.error_title) == ("failed", "the contact is blocked")


def test_the_tracker_of_a_members_message_names_it() -> None:
    assert new_tracker(42, 0).startswith("42.0.")


async def test_a_members_message_counts_in_router_messages_total_as_it_moves(
    store_talk: Talk, graph_route: GraphApi
) -> None:
    graph_route.mock(side_effect=[meta_error(400, 131026, "Message undeliverable"), accepted("w3")])
    before = await scrape(store_talk.router.client)

    written = (await store_talk.write("hello?")).json()
    await store_talk.router.settle()
    await store_talk.router.admin("POST", f"/api/v1/messages/{written['id']}/retry")
    await store_talk.router.settle()
    # And a message to a number no channel has: kept as unrouted, never received for a job.
    await post(store_talk.router, to_number(text_message("wamid.nowhere", "hi"), "999"))
    after = await scrape(store_talk.router.client)

    def outbound(status: str) -> tuple[str, frozenset[tuple[str, str]]]:
        return key("router_messages_total", direction="outbound", status=status)

    inbound_unrouted = key("router_messages_total", direction="inbound", status="unrouted")
    assert messages_moved(after - before) == {
        outbound("pending"): 2,  # written, and put back by the retry
        outbound("failed"): 1,
        outbound("accepted"): 1,
        inbound_unrouted: 1,
    }
