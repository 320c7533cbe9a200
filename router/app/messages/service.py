"""A member writes to a contact: the message is stored first, then sent by a job of its own on the
durable path (rate limit, retries, trackers, statuses), exactly once."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Scope
from app.auth.roles import Role, can_own_conversations
from app.channels.models import NO_NUMBER, ChannelType
from app.conversations import repository as conversations
from app.conversations import service as conversation_service
from app.conversations.models import ConversationStatus
from app.core.errors import Forbidden
from app.errors import Conflict, NotFound
from app.members import repository as members
from app.members.models import Member
from app.messages.repository import Row
from app.messages.schemas import ConversationMessage, MessageIn
from app.store.models import Direction, Message, OutboundStatus, Sender, utcnow

# Who may write as another member of the tenant: an integration writing for an agent.
WRITES_FOR_OTHERS = frozenset({Role.OWNER, Role.ADMIN})


async def write(
    session: AsyncSession,
    scope: Scope,
    conversation_id: int,
    body: MessageIn,
    request_id: str,
    traceparent: str | None = None,
) -> ConversationMessage:
    """Store the member's message (pending) in the conversation; a bot-owned conversation becomes
    the author's. The caller queues its job, which continues the request's trace (`traceparent`,
    traces on)."""
    row = await conversation_service.get(session, scope.tenant_id, conversation_id)
    author = await _author(session, scope, body.author_id)
    conversation, contact = row.conversation, row.contact
    channel = await conversations.channel_of(session, conversation)
    if contact.is_blocked:
        raise Conflict(f"contact {contact.id} is blocked: unblock them to write to them")
    if conversation.status != ConversationStatus.OPEN.value:
        raise Conflict(f"conversation {conversation.id} is closed: reopen it to write in it")
    now = utcnow()
    window = conversation.window_expires_at
    if channel.type == ChannelType.WHATSAPP.value and (window is None or window <= now):
        raise Conflict(
            f"conversation {conversation.id} is outside WhatsApp's 24-hour customer-service "
            "window (the contact has not written in the last 24 hours): only a template message "
            "may be sent now"
        )
    if conversation.owner_member_id is None:
        conversation.owner_member_id = author.id  # writing takes the conversation over
    conversation.last_message_at = now
    conversation.updated_at = now
    recipient = contact.wa_id or contact.user_id
    assert recipient is not None  # a contact has one or the other
    message = Message(
        direction=Direction.OUTBOUND.value,
        phone_number_id=channel.phone_number_id or NO_NUMBER,
        contact=recipient,
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        type="text",
        text=body.text,
        status=OutboundStatus.PENDING.value,
        attempts=0,
        request_id=request_id,
        traceparent=traceparent,
        created_at=now,
        updated_at=now,
        tenant_id=scope.tenant_id,
        channel_id=channel.id,
        conversation_id=conversation.id,
        contact_id=contact.id,
        sender=Sender.AGENT.value,
        author_member_id=author.id,
    )
    session.add(message)
    await session.commit()
    return ConversationMessage.of(Row(message, author), contact)


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
