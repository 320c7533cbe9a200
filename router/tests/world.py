from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from app.agents.models import AgentChannel
from app.auth.roles import Role
from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.ignore_rules.models import IgnoreRule
from app.members.models import Member
from app.schedules.models import Schedule

from .conftest import ADMIN_KEY, RouterUnderTest, make_settings, running_router
from .factories import channels, contacts, conversations, schedules, tenants
from .factories.store import Sessions, add


@dataclass
class Platform:
    router: RouterUnderTest

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.router.state.sessions
        return sessions

    async def call(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["X-API-Key"] = key
        return await self.router.client.request(method, path, headers=headers, **kwargs)

    async def operator(
        self, method: str, path: str, tenant: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"X-Tenant-ID": str(tenant)} if tenant is not None else {}
        return await self.call(method, path, ADMIN_KEY, headers=headers, **kwargs)


@pytest.fixture
async def platform(mock_http: respx.MockRouter, database_url: str) -> AsyncIterator[Platform]:
    async with running_router(make_settings(database_url=database_url)) as router:
        yield Platform(router)


@dataclass
class World:
    """Two tenants: ours, with a key per role and one of each object, and another one."""

    tenant: int
    keys: dict[Role, str]
    owner: Member
    agent: Member
    channel: Channel
    contact: Contact
    conversation: Conversation
    schedule: Schedule
    api_key_id: int
    agent_id: int  # the channel's first agent (the Server's)
    ignore_rule_id: int
    other_tenant: int
    other_key: str  # the other tenant's owner
    other_member: Member


@pytest.fixture
async def world(platform: Platform) -> World:
    s = platform.sessions
    ours = await tenants.tenant(s, "Acme")
    owner = await tenants.member(s, ours.id, Role.OWNER, name="Owner", email="owner@acme.test")
    agent = await tenants.member(s, ours.id, Role.AGENT, name="Support Agent")
    keys = {}
    for role in Role:
        _, keys[role] = await tenants.api_key(s, ours.id, role)
    spare_key, _ = await tenants.api_key(s, ours.id, Role.VIEWER)
    channel = await channels.channel(s, ours.id)
    contact = await contacts.contact(s, ours.id)
    conversation = await conversations.conversation(s, ours.id, channel.id, contact.id)
    async with s() as session:
        agent_id = await session.scalar(
            select(AgentChannel.agent_id).where(AgentChannel.channel_id == channel.id)
        )
    assert agent_id is not None
    rule = await add(s, IgnoreRule(tenant_id=ours.id, rule_type="keyword", value="unsubscribe"))
    schedule = await schedules.schedule(s, ours.id, channel.id, contact.id)
    theirs = await tenants.tenant(s, "Second Company")
    _, other_key = await tenants.api_key(s, theirs.id, Role.OWNER)
    other_member = await tenants.member(s, theirs.id, Role.AGENT, name="Other Tenant Agent")
    return World(
        tenant=ours.id,
        keys=keys,
        owner=owner,
        agent=agent,
        channel=channel,
        contact=contact,
        conversation=conversation,
        schedule=schedule,
        api_key_id=spare_key.id,
        agent_id=agent_id,
        ignore_rule_id=rule.id,
        other_tenant=theirs.id,
        other_key=other_key,
        other_member=other_member,
    )
