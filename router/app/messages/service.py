"""A member writes to a contact, or the API sends to a contact or a phone number: the message (a
text, a template or a file) is stored first, then sent by a job of its own on the durable path (rate
limit, retries, trackers, statuses), exactly once."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role, can_own_conversations
from app.auth.scope import Scope
from app.channels import service as channels
from app.channels.models import NO_NUMBER, Channel, ChannelType
from app.contacts import repository as contacts
from app.contacts import service as contact_service
from app.contacts.models import Contact
from app.conversations import repository as conversations
from app.conversations import service as conversation_service
from app.conversations.models import Conversation, ConversationStatus
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.events import service as events
from app.events.repository import Change
from app.events.schemas import EventType
from app.media.attachment import dumps
from app.media.uploads import link_attachment
from app.members import repository as members
from app.members.models import Member
from app.messages.models import Direction, Message, OutboundStatus, Sender
from app.messages.repository import AuthoredMessage
from app.messages.schemas import ConversationMessage, MessageIn, SendIn

# Who may write as another member of the tenant: an integration writing for an agent.
WRITES_FOR_OTHERS = frozenset({Role.OWNER, Role.ADMIN})


async def write(
    session: AsyncSession,
    scope: Scope,
    conversation_id: int,
    body: MessageIn,
    request_id: str,
    traceparent: str | None = None,
    attachment: dict[str, Any] | None = None,
) -> ConversationMessage:
    """Store the member's message (pending) in the conversation; a bot-owned conversation becomes
    the author's. The caller queues its job, which continues the request's trace (`traceparent`,
    traces on). `attachment`: a file the caller has stored (app/media/uploads.py)."""
    row = await conversation_service.get(session, scope, conversation_id)
    author = await _author(session, scope, body.author_id)
    conversation, contact = row.conversation, row.contact
    channel = await conversations.channel_of(session, conversation)
    if contact.is_blocked:
        raise Conflict(f"contact {contact.id} is blocked: unblock them to write to them")
    if conversation.status != ConversationStatus.OPEN.value:
        raise Conflict(f"conversation {conversation.id} is closed: reopen it to write in it")
    now = utcnow()
    attachment = _attachment(channel, body, attachment)
    _check_window(channel, conversation, body, now)
    taken_over = conversation.owner_member_id is None
    if taken_over:
        conversation.owner_member_id = author.id  # writing takes the conversation over
    message = _outbound(
        channel, conversation, contact, body, now, request_id, traceparent, attachment
    )
    message.sender = Sender.AGENT.value
    message.author_member_id = author.id
    session.add(message)
    await session.flush()
    changes = [Change(scope.tenant_id, EventType.MESSAGE_CREATED, message.id)]
    if taken_over:
        changes.append(Change(scope.tenant_id, EventType.CONVERSATION_UPDATED, conversation.id))
    await events.record(session, *changes)
    await session.commit()
    return ConversationMessage.of(AuthoredMessage(message, author), contact)


async def send(
    session: AsyncSession,
    scope: Scope,
    body: SendIn,
    request_id: str,
    traceparent: str | None = None,
    attachment: dict[str, Any] | None = None,
) -> Message:
    """Store a message to `to` (a contact, or a phone number made one) from the channel's number,
    in the contact's open conversation on it (opened when there is none: its window is closed
    then, only a template goes). Written by the member the key acts as, else by the tenant's
    automation (`sender: ai`); the conversation's owner does not change. The caller queues its
    job."""
    tenant_id = scope.tenant_id
    channel = await channels.get(session, tenant_id, body.channel_id)
    if not scope.principal.sees(channel.id):
        raise NotFound(f"no channel {body.channel_id}")  # as another tenant's: 404
    attachment = _attachment(channel, body, attachment)
    now = utcnow()
    connection = await session.connection()
    if isinstance(body.to, int):
        contact = await contact_service.get(session, tenant_id, body.to)
    else:
        found = await contacts.resolve(
            connection, tenant_id, wa_id=body.to, user_id=None, profile_name=None, now=now
        )
        contact = await contact_service.get(session, tenant_id, found.contact_id)
    if contact.is_blocked:
        raise Conflict(f"contact {contact.id} is blocked: unblock them to write to them")
    opened = await conversations.continue_or_open(
        connection, tenant_id, channel.id, contact.id, at=now, inbound=False
    )
    conversation = await session.get(Conversation, opened.conversation_id, populate_existing=True)
    assert conversation is not None
    _check_window(channel, conversation, body, now)
    message = _outbound(
        channel, conversation, contact, body, now, request_id, traceparent, attachment
    )
    author = scope.principal.member_id
    message.sender = (Sender.AGENT if author is not None else Sender.AI).value
    message.author_member_id = author
    session.add(message)
    await session.flush()
    await events.record(session, Change(tenant_id, EventType.MESSAGE_CREATED, message.id))
    await session.commit()
    return message


def _attachment(
    channel: Channel, body: MessageIn | SendIn, stored: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The message's file: one the caller stored, or one Meta fetches from the body's link."""
    link = body.sent_media
    if (stored is not None or link is not None) and channel.type != ChannelType.WHATSAPP.value:
        raise Unprocessable(f"file: channel {channel.id} is an api channel: it sends no files")
    if link is not None:
        return link_attachment(link.kind, str(link.link), link.caption, link.filename)
    return stored


def _check_window(
    channel: Channel, conversation: Conversation, body: MessageIn | SendIn, now: datetime
) -> None:
    if body.sent_template is not None:
        if channel.type != ChannelType.WHATSAPP.value:
            raise Unprocessable(
                f"template: channel {channel.id} is an api channel: it sends no WhatsApp templates"
            )
        return  # a template goes whatever the window
    window = conversation.window_expires_at
    if channel.type == ChannelType.WHATSAPP.value and (window is None or window <= now):
        raise Conflict(
            f"conversation {conversation.id} is outside WhatsApp's 24-hour customer-service "
            "window (the contact has not written in the last 24 hours): a template is needed"
        )


def _outbound(
    channel: Channel,
    conversation: Conversation,
    contact: Contact,
    body: MessageIn | SendIn,
    now: datetime,
    request_id: str,
    traceparent: str | None,
    attachment: dict[str, Any] | None = None,
) -> Message:
    """The pending outbound message of its own; the conversation's activity moves to now."""
    conversation.last_message_at = now
    conversation.updated_at = now
    recipient = contact.wa_id or contact.user_id
    assert recipient is not None  # a contact has one or the other
    sent = body.sent_template
    template = sent.model_dump_json() if sent is not None else None
    return Message(
        direction=Direction.OUTBOUND.value,
        phone_number_id=channel.phone_number_id or NO_NUMBER,
        contact=recipient,
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        type=attachment["kind"] if attachment else "text" if template is None else "template",
        # A file's caption is its text, as an inbound file's is.
        text=attachment["caption"] if attachment else body.sent_text,
        template=template,
        attachment=dumps(attachment) if attachment else None,
        status=OutboundStatus.PENDING.value,
        attempts=0,
        request_id=request_id,
        traceparent=traceparent,
        created_at=now,
        updated_at=now,
        tenant_id=conversation.tenant_id,
        channel_id=channel.id,
        conversation_id=conversation.id,
        contact_id=contact.id,
    )


async def _author(session: AsyncSession, scope: Scope, author_id: int | None) -> Member:
    principal = scope.principal
    if author_id is None:
        if principal.member_id is None:
            # At odds with what is stored (the key has no member), not with the body's shape.
            raise Conflict(
                "author_id: this key does not act as a member; name the member who writes"
            )
        author_id = principal.member_id
    elif author_id != principal.member_id and not (
        principal.is_operator or principal.role in WRITES_FOR_OTHERS
    ):
        raise Forbidden(f"the role {principal.role} may not write as another member")
    author = await members.get(session, scope.tenant_id, author_id)
    if author is None:
        raise NotFound(f"no member {author_id}")
    if not can_own_conversations(Role(author.role)):
        raise Conflict(
            f"author_id: member {author.id} is a {author.role} and cannot write to contacts"
        )
    return author
