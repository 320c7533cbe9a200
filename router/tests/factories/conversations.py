from datetime import datetime

from app.conversations.models import Conversation, ConversationStatus
from app.core.clock import utcnow
from app.messages.models import Direction, InboundStatus, Message, OutboundStatus, Sender

from .store import Sessions, add


async def conversation(
    sessions: Sessions,
    tenant_id: int,
    channel_id: int,
    contact_id: int,
    *,
    owner_member_id: int | None = None,
    status: ConversationStatus = ConversationStatus.OPEN,
    last_message_at: datetime | None = None,
    last_inbound_at: datetime | None = None,
) -> Conversation:
    at = last_message_at or utcnow()
    return await add(
        sessions,
        Conversation(
            tenant_id=tenant_id,
            channel_id=channel_id,
            contact_id=contact_id,
            status=status.value,
            owner_member_id=owner_member_id,
            last_message_at=at,
            last_inbound_at=last_inbound_at,
        ),
    )


async def message(
    sessions: Sessions,
    conversation: Conversation,
    text: str,
    *,
    sender: Sender | None = Sender.CONTACT,
    inbound: bool = True,
    author_member_id: int | None = None,
    wamid: str | None = None,
) -> Message:
    return await add(
        sessions,
        Message(
            direction=(Direction.INBOUND if inbound else Direction.OUTBOUND).value,
            wamid=wamid,
            phone_number_id="100200300",
            contact="15550001234",
            wa_id="15550001234",
            type="text",
            text=text,
            status=(InboundStatus.REPLIED if inbound else OutboundStatus.DELIVERED).value,
            attempts=1,
            tenant_id=conversation.tenant_id,
            channel_id=conversation.channel_id,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            sender=sender.value if sender else None,
            author_member_id=author_member_id,
        ),
    )
