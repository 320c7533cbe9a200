"""Writes the demo company (`content.py`) through the domains' services and repositories.

Idempotent: what exists is found (the tenant by name, members by email, numbers by
phone_number_id, contacts by wa_id or user id, a conversation by its first message's wamid or
by the contact's conversation on that channel) and left as it is, so that a member's edits
survive seeding again; only what is missing is made. The two demo keys are the exception: a key
is shown once and stored as a hash, so the only way to print a usable key again is a new one,
and the previous demo keys are revoked (`Demo.reissue`).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as api_keys
from app.auth.roles import Role
from app.auth.schemas import KeyIn
from app.auth.scope import Principal, Scope
from app.channels import repository as channels
from app.channels import service as channel_service
from app.channels.models import Channel, ChannelType
from app.contacts import repository as contacts
from app.contacts import service as contact_service
from app.contacts.schemas import ContactPatch
from app.conversations import repository as conversations
from app.conversations import service as conversation_service
from app.conversations.models import ConversationStatus
from app.core.clock import utcnow
from app.core.errors import Conflict
from app.members import repository as members
from app.members import service as member_service
from app.members.models import Member
from app.members.schemas import MemberIn
from app.messages.models import Direction, InboundStatus, Message, Sender
from app.seed import repository
from app.seed.content import (
    AGENT,
    CHANNELS,
    CONTACTS,
    CONVERSATIONS,
    MEMBERS,
    OWNER,
    TENANT,
    WABA_ID,
    WEB_CHAT,
    DemoChannel,
    DemoContact,
    DemoConversation,
    DemoMember,
)
from app.tenants import repository as tenants
from app.tenants import service as tenant_service

OWNER_KEY_NAME = "demo owner key"
AGENT_KEY_NAME = "demo agent key"


@dataclass(frozen=True, slots=True)
class SeededChannel:
    number: DemoChannel
    channel_id: int
    access_token: str


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant_id: int
    owner_key: str  # acts as OWNER
    agent_key: str  # acts as AGENT
    channels: list[SeededChannel]
    api_channel_id: int  # the `api` channel POST /webhooks/inbound writes to
    made: list[str]  # what this run added, keys aside: empty when it was all there


async def seed_demo(session: AsyncSession, now: datetime | None = None) -> Seeded:
    """The demo company in the store; its history is dated back from `now` when first made."""
    now = now or utcnow()
    made: list[str] = []
    tenant = await tenants.by_name(session, TENANT)
    if tenant is None:
        tenant = await tenant_service.create(session, TENANT)
        made.append(f"tenant {TENANT!r}")
    demo = Demo(session, tenant.id, made)
    people = {m.email: await demo.member(m) for m in MEMBERS}
    numbers = [await demo.channel(number) for number in CHANNELS]
    api_channel_id = await demo.api_channel(WEB_CHAT)
    for contact in CONTACTS:
        await demo.contact(contact, _first_seen(contact, now))
    channel_ids = {c.number.phone_number_id: c.channel_id for c in numbers}
    for conversation in CONVERSATIONS:
        await demo.conversation(conversation, channel_ids, people, now)
    owner_key = await demo.reissue(OWNER_KEY_NAME, people[OWNER.email])
    agent_key = await demo.reissue(AGENT_KEY_NAME, people[AGENT.email])
    return Seeded(tenant.id, owner_key, agent_key, numbers, api_channel_id, made)


def _first_seen(contact: DemoContact, now: datetime) -> datetime:
    """When the contact first wrote: their first message in the demo's history, else now."""
    return min(
        (now - c.lines[0].ago for c in CONVERSATIONS if c.contact is contact),
        default=now,
    )


@dataclass(frozen=True, slots=True)
class Demo:
    """Finds or makes each part of the demo company in one tenant, noting what it made."""

    session: AsyncSession
    tenant_id: int
    made: list[str]

    @property
    def scope(self) -> Scope:
        """The seed acts as the operator: it sees every number."""
        return Scope(self.tenant_id, Principal(tenant_id=None, role=None))

    async def member(self, person: DemoMember) -> Member:
        found = await members.taken(self.session, self.tenant_id, email=person.email, subject=None)
        if found is not None:
            return found
        self.made.append(f"member {person.name!r}")
        body = MemberIn(name=person.name, role=person.role, email=person.email)
        return await member_service.create(self.session, self.tenant_id, body)

    async def channel(self, number: DemoChannel) -> SeededChannel:
        routes = await channels.routes_of(await self.session.connection(), [number.phone_number_id])
        known = routes.get(number.phone_number_id)
        if known is not None:
            if known.tenant_id != self.tenant_id:
                raise Conflict(
                    f"phone_number_id {number.phone_number_id} is a channel of another tenant; "
                    f"the demo's numbers (app/seed/content.py) must be free"
                )
            # A demo channel is made with a token, and the API never takes a token away.
            assert known.access_token is not None
            return SeededChannel(number, known.channel_id, known.access_token)
        # Made here rather than by the channels' service: that one first checks the token with
        # the Graph API, and the demo's numbers exist only in the Simulator, which is not
        # running yet. The token is made up once and kept; the Simulator is given it
        # (`python -m app.seed --json`).
        token = secrets.token_urlsafe(32)
        channel = Channel(
            tenant_id=self.tenant_id,
            type=ChannelType.WHATSAPP.value,
            name=number.name,
            phone_number_id=number.phone_number_id,
            display_phone_number=number.display_phone_number,
            waba_id=WABA_ID,
            access_token=token,
        )
        await channel_service.save_new(
            self.session, channel, f"phone_number_id {number.phone_number_id} is taken"
        )
        self.made.append(f"channel {number.name!r}")
        return SeededChannel(number, channel.id, token)

    async def api_channel(self, name: str) -> int:
        found = await repository.api_channel(self.session, self.tenant_id, name)
        if found is not None:
            return found.id
        channel = Channel(tenant_id=self.tenant_id, type=ChannelType.API.value, name=name)
        await channel_service.save_new(self.session, channel, f"channel {name!r} is taken")
        self.made.append(f"api channel {name!r}")
        return channel.id

    async def contact(self, person: DemoContact, at: datetime) -> None:
        if await contacts.taken(self.session, self.tenant_id, person.wa_id, person.user_id):
            return
        # As their first WhatsApp message makes them: WhatsApp's profile name, not a member's.
        made = await contacts.resolve(
            await self.session.connection(),
            self.tenant_id,
            wa_id=person.wa_id,
            user_id=person.user_id,
            profile_name=person.name,
            now=at,
        )
        # What a member noted about them since, committed with their row.
        notes: dict[str, Any] = {"email": person.email, "description": person.description}
        changes = {k: v for k, v in notes.items() if v is not None}
        if person.blocked:
            changes["is_blocked"] = True
        patch = ContactPatch(**changes)
        await contact_service.update(self.session, self.tenant_id, made.contact_id, patch)
        self.made.append(f"contact {person.name!r}")

    async def conversation(
        self,
        conversation: DemoConversation,
        channel_ids: dict[str, int],
        people: dict[str, Member],
        now: datetime,
    ) -> None:
        """The conversation and its messages in one transaction, so that its first message's
        wamid says whether it is all there. A contact who talks on the channel already (a
        demo seeded before its conversations were renamed, or a chat) gets no history."""
        session = self.session
        if await repository.wamid_known(session, conversation.wamid(0)):
            return
        who, number = conversation.contact, conversation.channel
        channel_id = channel_ids[number.phone_number_id]
        if await repository.talks_on(session, self.tenant_id, channel_id, who.wa_id):
            return
        connection = await session.connection()
        contact = await contacts.resolve(
            connection,
            self.tenant_id,
            wa_id=who.wa_id,
            user_id=who.user_id,
            profile_name=None,  # the name stays as it is
            now=now,
        )
        conversation_id = 0
        answered: int | None = None  # the contact's message the bot's next line answers
        for index, line in enumerate(conversation.lines):
            at = now - line.ago
            inbound = line.sender is Sender.CONTACT
            # As the message path moves a conversation: its activity, and on the contact's own
            # message its 24-hour window.
            route = await conversations.continue_or_open(
                connection, self.tenant_id, channel_id, contact.contact_id, at=at, inbound=inbound
            )
            conversation_id = route.conversation_id
            # Stored as the message path stores it: no service writes the past.
            message = Message(
                direction=(Direction.INBOUND if inbound else Direction.OUTBOUND).value,
                wamid=conversation.wamid(index),
                phone_number_id=number.phone_number_id,
                contact=who.wa_id,
                wa_id=who.wa_id,
                user_id=who.user_id,
                contact_name=who.name if inbound else None,
                type="text",
                text=line.text,
                status=(InboundStatus.REPLIED if inbound else line.status).value,
                attempts=1,
                reply_to_id=answered if line.sender is Sender.AI else None,
                part=0 if line.sender is Sender.AI else None,
                created_at=at,
                updated_at=at,
                tenant_id=self.tenant_id,
                channel_id=channel_id,
                conversation_id=conversation_id,
                contact_id=contact.contact_id,
                sender=line.sender.value,
                author_member_id=people[line.author.email].id if line.author else None,
            )
            session.add(message)
            await session.flush()
            if inbound:
                answered = message.id
        if conversation.owner is not None:
            owner_id = people[conversation.owner.email].id
            await conversation_service.transfer(session, self.scope, conversation_id, owner_id)
        if conversation.closed:
            closed = ConversationStatus.CLOSED
            await conversation_service.set_status(session, self.scope, conversation_id, closed)
        await session.commit()
        self.made.append(f"conversation {conversation.slug!r}")

    async def reissue(self, name: str, member: Member) -> str:
        """A new key acting as the member, with their role; the demo's keys of that name made
        before are revoked.

        Keys are stored as hashes and shown once, so printing a usable key on every run means
        making one. Revoking the previous ones leaves one live demo key per member rather than a
        pile of them, and a key an earlier run printed (in a terminal's scrollback) stops working.
        Keys derived from a secret instead would be only as strong as that secret, could not be
        rotated without changing it, and the demo would need somewhere to keep it.
        """
        for old in await repository.active_keys(self.session, self.tenant_id, name, member.id):
            await api_keys.revoke(self.session, self.tenant_id, old.id)
        body = KeyIn(name=name, role=Role(member.role), member_id=member.id)
        return (await api_keys.create(self.session, self.tenant_id, body)).key
