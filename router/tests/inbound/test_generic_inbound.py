"""`POST /webhooks/inbound`: an `api` channel's messages, answered by the bot in the
conversation, once per `channel_message_id`."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from app.auth.roles import Role
from app.channels.models import Channel, ChannelType
from app.contacts.models import Contact
from app.messages.models import Message

from ..backends import migrated_postgres
from ..conftest import ADMIN_KEY, RouterUnderTest, make_settings, running_router
from ..factories import channels, tenants
from ..factories.store import Sessions, add
from ..graph_api import GraphApi
from ..jobs.test_durability import post
from ..meta import WA_ID, text_message
from ..support import key, messages_moved, scrape


@dataclass
class Site:
    """A tenant with an api channel (its web chat) and keys."""

    client: httpx.AsyncClient
    router: RouterUnderTest
    tenant_id: int
    channel_id: int
    key: str  # an agent key
    viewer_key: str
    other_key: str

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.router.state.sessions
        return sessions

    async def send(
        self,
        text: str,
        message_id: str,
        sender: str = "visitor-1",
        key: str | None = None,
        **body: Any,
    ) -> httpx.Response:
        payload = {
            "company_id": self.tenant_id,
            "channel_id": self.channel_id,
            "from": sender,
            "text": text,
            "channel_message_id": message_id,
        } | body
        return await self.client.post(
            "/webhooks/inbound", json=payload, headers={"X-API-Key": key or self.key}
        )

    async def thread(self, conversation_id: int) -> list[tuple[str, str, str | None]]:
        response = await self.client.get(
            f"/api/v1/conversations/{conversation_id}/messages", headers={"X-API-Key": self.key}
        )
        assert response.status_code == 200, response.text
        return [(m["sender"], m["status"], m["text"]) for m in response.json()["items"]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def site(
    request: pytest.FixtureRequest,
    database_url: str,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> AsyncIterator[Site]:
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    async with running_router(make_settings(database_url=url)) as router:
        s: Sessions = router.state.sessions
        tenant = await tenants.tenant(s, "Acme")
        channel = await add(s, Channel(tenant_id=tenant.id, type=ChannelType.API.value, name="Web"))
        await channels.first_agent(s, tenant.id, channel.id)
        _, key = await tenants.api_key(s, tenant.id, Role.AGENT)
        _, viewer_key = await tenants.api_key(s, tenant.id, Role.VIEWER)
        other = await tenants.tenant(s, "Second Company")
        _, other_key = await tenants.api_key(s, other.id, Role.OWNER)
        yield Site(router.client, router, tenant.id, channel.id, key, viewer_key, other_key)


async def test_a_message_is_answered_by_the_bot_in_its_conversation(
    site: Site, server_route: respx.Route, graph_route: GraphApi
) -> None:
    response = await site.send("do you ship to Lisbon?", "web-1")
    await site.router.settle()

    assert response.status_code == 202, response.text
    got = response.json()
    assert (got["message"]["sender"], got["message"]["status"]) == ("contact", "received")
    assert await site.thread(got["conversation_id"]) == [
        ("contact", "replied", "do you ship to Lisbon?"),
        (
            "ai",
            "delivered",
            "I received your message: 'do you ship to Lisbon?' and here is a random number: 7",
        ),
    ]
    assert not graph_route.called  # an api channel has no Graph API

    again = await site.send("and to Porto?", "web-2")
    await site.router.settle()
    assert again.json()["conversation_id"] == got["conversation_id"]
    assert len(server_route.calls) == 2


async def test_the_same_channel_message_id_is_one_message_and_one_reply(
    site: Site, server_route: respx.Route
) -> None:
    first = await site.send("hello", "web-dup")
    again = await site.send("hello", "web-dup")
    together = await asyncio.gather(*(site.send("hi", "web-dup-2") for _ in range(5)))
    await site.router.settle()

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() | {"message": again.json()["message"]}
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert len({r.json()["message"]["id"] for r in together}) == 1
    texts = [json.loads(c.request.content)["text"] for c in server_route.calls]
    assert sorted(texts) == ["hello", "hi"]


async def test_a_phone_number_is_the_same_contact_as_on_whatsapp(site: Site) -> None:
    await site.send("from the web", "web-p", sender=f"+{WA_ID}")
    async with site.sessions() as session:
        [contact] = (await session.scalars(select(Contact))).all()
    assert (contact.wa_id, contact.user_id) == (WA_ID, None)

    await site.send("anonymous", "web-q", sender="visitor-77")
    async with site.sessions() as session:
        users = (await session.scalars(select(Contact.user_id).order_by(Contact.id))).all()
    assert users == [None, "visitor-77"]


async def test_who_may_send(site: Site) -> None:
    no_key = await site.client.post("/webhooks/inbound", json={})
    viewer = await site.send("hi", "w-1", key=site.viewer_key)
    other_tenant = await site.send("hi", "w-2", key=site.other_key)
    operator = await site.send("hi", "w-3", key=ADMIN_KEY)
    unknown_company = await site.send("hi", "w-4", key=ADMIN_KEY, company_id=999_999)
    unknown_channel = await site.send("hi", "w-5", channel_id=999_999)
    await site.router.settle()

    assert no_key.status_code == 401
    assert viewer.status_code == 403
    assert other_tenant.status_code == 404
    assert operator.status_code == 202
    assert unknown_company.status_code == unknown_channel.status_code == 404


async def test_a_whatsapp_channel_or_a_bad_body_is_422_naming_the_field(site: Site) -> None:
    async with site.sessions() as session:
        whatsapp = await session.scalar(
            select(Channel.id).where(Channel.type == ChannelType.WHATSAPP.value)
        )
        tenant_of_it = await session.scalar(select(Channel.tenant_id).where(Channel.id == whatsapp))
    assert whatsapp is not None

    wrong_channel = await site.send(
        "hi", "w-6", key=ADMIN_KEY, company_id=tenant_of_it, channel_id=whatsapp
    )
    blank = await site.send("  ", "w-7")
    spaces = await site.send("hi", "w 8")
    unknown_field = await site.send("hi", "w-9", extra=1)

    assert wrong_channel.status_code == 422
    assert wrong_channel.json()["detail"][0]["loc"] == ["body", "channel_id"]
    assert blank.json()["detail"][0]["loc"] == ["body", "text"]
    assert spaces.json()["detail"][0]["loc"] == ["body", "channel_message_id"]
    assert unknown_field.json()["detail"][0]["loc"] == ["body", "extra"]


async def test_a_blocked_contact_and_a_member_owned_conversation_are_kept_from_the_bot(
    site: Site, server_route: respx.Route, graph_route: GraphApi
) -> None:
    got = (await site.send("hi", "w-10")).json()
    await site.router.settle()
    conversation = got["conversation_id"]
    agent = await tenants.member(site.sessions, site.tenant_id, Role.AGENT, name="Support Agent")
    await site.client.post(
        f"/api/v1/conversations/{conversation}/transfer",
        json={"new_owner_id": agent.id},
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(site.tenant_id)},
    )
    held = await site.send("a person?", "w-11")
    # The member answers: stored is delivered, whatever the 24-hour window (WhatsApp's rule).
    written = await site.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"text": "Support here", "author_id": agent.id},
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(site.tenant_id)},
    )
    await site.router.settle()
    await site.client.post(
        f"/api/v1/contacts/{got['message']['author']['id']}/block",
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(site.tenant_id)},
    )
    blocked = await site.send("hello?", "w-12")
    await site.router.settle()

    assert held.status_code == written.status_code == blocked.status_code == 202
    assert [json.loads(c.request.content)["text"] for c in server_route.calls] == ["hi"]
    assert not graph_route.called
    assert [(s, st) for s, st, _ in await site.thread(conversation)] == [
        ("contact", "replied"),
        ("ai", "delivered"),
        ("contact", "handed_over"),
        ("agent", "delivered"),
        ("contact", "blocked"),
    ]


async def test_a_whatsapp_webhook_still_reaches_its_own_channel(
    site: Site, graph_route: GraphApi
) -> None:
    await post(site.router, text_message("wamid.alongside", "hi"))
    await site.router.settle()

    async with site.sessions() as session:
        stored = await session.scalar(select(Message).where(Message.wamid == "wamid.alongside"))
    assert stored is not None
    assert stored.status == "replied"
    assert graph_route.call_count == 1


async def test_an_api_channels_messages_count_in_router_messages_total(
    site: Site, server_route: respx.Route
) -> None:
    before = await scrape(site.client)
    got = (await site.send("hi", "w-20")).json()
    await site.router.settle()
    conversation = got["conversation_id"]
    agent = await tenants.member(site.sessions, site.tenant_id, Role.AGENT, name="Support Agent")
    admin = {"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(site.tenant_id)}
    await site.client.post(
        f"/api/v1/conversations/{conversation}/transfer",
        json={"new_owner_id": agent.id},
        headers=admin,
    )
    await site.send("a person?", "w-21")
    await site.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"text": "Support here", "author_id": agent.id},
        headers=admin,
    )
    await site.router.settle()
    await site.client.post(
        f"/api/v1/contacts/{got['message']['author']['id']}/block", headers=admin
    )
    await site.send("hello?", "w-22")
    await site.router.settle()
    after = await scrape(site.client)

    def moved(direction: str, status: str) -> tuple[str, frozenset[tuple[str, str]]]:
        return key("router_messages_total", direction=direction, status=status)

    assert messages_moved(after - before) == {
        moved("inbound", "received"): 3,
        moved("inbound", "processing"): 3,
        moved("inbound", "replied"): 1,
        moved("inbound", "handed_over"): 1,
        moved("inbound", "blocked"): 1,
        moved("outbound", "pending"): 2,  # the bot's reply and the member's message
        moved("outbound", "delivered"): 2,  # stored is delivered on an api channel
    }
