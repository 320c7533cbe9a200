"""The generic inbound of an `api` channel: a message from another system is stored in its
contact's conversation and queued, as a webhook's message is; the bot's reply is stored in the
conversation for that system to read (an api channel has no Graph API: stored is delivered)."""

import re
from typing import NoReturn

from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import service as channels
from app.channels.models import NO_NUMBER, ChannelType
from app.contacts import repository as contacts
from app.contacts.models import Contact
from app.contacts.repository import Person
from app.conversations import repository as conversations
from app.conversations.repository import Arrival
from app.core.clock import utcnow
from app.core.db import conflict_insert
from app.events import service as events
from app.events.repository import Change
from app.events.schemas import EventType
from app.inbound.schemas import InboundIn, InboundOut
from app.messages.models import Direction, InboundStatus, Message, Sender
from app.messages.repository import AuthoredMessage
from app.messages.schemas import ConversationMessage

_PHONE = re.compile(r"\+?([0-9]{1,64})")


def person_of(sender: str) -> Person:
    """A phone number is a wa_id (one contact with the same person on WhatsApp); anything else
    names the contact as its user_id."""
    phone = _PHONE.fullmatch(sender)
    return Person(phone[1], None) if phone else Person(None, sender)


async def receive(
    session: AsyncSession,
    tenant_id: int,
    body: InboundIn,
    request_id: str,
    traceparent: str | None = None,
) -> tuple[InboundOut, bool]:
    """Store the message (once per channel_message_id) in its contact's conversation; return it,
    and whether it is new (a job is to be queued for it, continuing the request's trace)."""
    channel = await channels.get(session, tenant_id, body.channel_id)
    if channel.type != ChannelType.API.value:
        _invalid(
            "channel_id",
            f"channel {channel.id} is a {channel.type} channel: its messages come through "
            "Meta's webhooks, not this endpoint",
        )
    wamid = f"api.{channel.id}.{body.channel_message_id}"
    known = await _stored(session, wamid)
    if known is not None:
        return known, False
    connection = await session.connection()
    now = utcnow()
    person = person_of(body.from_)
    contact = (await contacts.resolve_many(connection, tenant_id, {person: None}, now))[person]
    arrival = Arrival(tenant_id, channel.id, contact.contact_id)
    new_contacts = frozenset({contact.contact_id} if contact.created else ())
    opened = await conversations.continue_or_open_many(
        connection, [arrival], at=now, new_contacts=new_contacts
    )
    inserted = await connection.execute(
        conflict_insert(connection.dialect.name, Message)
        .values(
            direction=Direction.INBOUND.value,
            wamid=wamid,
            phone_number_id=NO_NUMBER,
            contact=body.from_,
            wa_id=person.wa_id,
            user_id=person.user_id,
            type="text",
            text=body.text,
            status=InboundStatus.RECEIVED.value,
            attempts=0,
            request_id=request_id,
            traceparent=traceparent,
            created_at=now,
            updated_at=now,
            tenant_id=tenant_id,
            channel_id=channel.id,
            conversation_id=opened[arrival.key].conversation_id,
            contact_id=contact.contact_id,
            sender=Sender.CONTACT.value,
        )
        .on_conflict_do_nothing(index_elements=["wamid"])
        .returning(Message.id)
    )
    message_id = inserted.scalar()
    new = message_id is not None
    if message_id is not None:
        route = opened[arrival.key]
        changes = [Change(tenant_id, EventType.MESSAGE_CREATED, message_id)]
        if route.opened:
            changes.insert(
                0, Change(tenant_id, EventType.CONVERSATION_CREATED, route.conversation_id)
            )
        await events.record(session, *changes)
        await session.commit()
    else:
        await session.rollback()  # the same message, sent twice at once: the other one stored it
    stored = await _stored(session, wamid)
    assert stored is not None
    return stored, new


async def _stored(session: AsyncSession, wamid: str) -> InboundOut | None:
    found = (
        await session.execute(
            select(Message, Contact)
            .join(Contact, Contact.id == Message.contact_id)
            .where(Message.wamid == wamid)
        )
    ).first()
    if found is None:
        return None
    message, contact = found
    assert message.conversation_id is not None
    return InboundOut(
        conversation_id=message.conversation_id,
        message=ConversationMessage.of(AuthoredMessage(message, None), contact),
    )


def _invalid(field: str, message: str) -> NoReturn:
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": None}]
    )
