from typing import Literal

from pydantic import BaseModel, Field

from app.channels.models import Channel, ChannelType
from app.contacts.schemas import ContactSummary
from app.conversations.models import BOT_NAME, ConversationStatus
from app.conversations.repository import ConversationRow
from app.core.ids import IdField
from app.core.schemas import Input, Output, UtcDateTime
from app.members.models import Member
from app.messages.schemas import ConversationMessage


class Owner(BaseModel):
    type: Literal["ai", "agent"]
    id: int | None = Field(description="the member's id; null for the bot")
    name: str

    @classmethod
    def of(cls, member: Member | None) -> "Owner":
        if member is None:
            return cls(type="ai", id=None, name=BOT_NAME)
        return cls(type="agent", id=member.id, name=member.name)


class ChannelSummary(Output):
    id: int
    type: ChannelType
    name: str
    phone_number_id: str | None
    display_phone_number: str | None


class ConversationItem(BaseModel):
    id: int
    status: ConversationStatus
    channel_id: int
    contact: ContactSummary
    owner: Owner
    last_message_at: UtcDateTime
    last_inbound_at: UtcDateTime | None
    window_expires_at: UtcDateTime | None = Field(
        description="when the 24-hour customer-service window closes (24 h after the contact's "
        "last message); null before the contact has written"
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime
    # The conversation backend's names (docs/coming-from.md), beside this project's.
    company_id: int = Field(description="the tenant's id")
    contact_id: int = Field(description="`contact.id` again")
    owner_id: int | None = Field(description="`owner.id` again: the member's id, null for the bot")

    @classmethod
    def of(cls, row: ConversationRow) -> "ConversationItem":
        c = row.conversation
        return cls(
            id=c.id,
            status=ConversationStatus(c.status),
            channel_id=c.channel_id,
            contact=ContactSummary.model_validate(row.contact),
            owner=Owner.of(row.owner),
            last_message_at=c.last_message_at,
            last_inbound_at=c.last_inbound_at,
            window_expires_at=c.window_expires_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
            company_id=c.tenant_id,
            contact_id=c.contact_id,
            owner_id=c.owner_member_id,
        )


class ConversationListItem(ConversationItem):
    """A conversation as the list shows it: with its newest message and the caller's unread
    count."""

    last_message: ConversationMessage | None = Field(
        description="the conversation's newest message, whoever wrote it; null before any"
    )
    unread_count: int | None = Field(
        description="the contact's messages after the caller's read mark (POST "
        "/api/v1/conversations/{id}/read), all of them before the first; null for a caller "
        "acting as no member"
    )


class ConversationOut(ConversationItem):
    channel: ChannelSummary

    @classmethod
    def with_channel(cls, row: ConversationRow, channel: Channel) -> "ConversationOut":
        item = ConversationItem.of(row)
        return cls(**dict(item), channel=ChannelSummary.model_validate(channel))


class TransferIn(Input):
    new_owner_id: IdField | None = Field(
        description="the member who takes the conversation over; null: back to the bot"
    )


class Switched(BaseModel):
    detail: Literal["switched ownership to human", "switched ownership to ai"]


class ReadMark(BaseModel):
    conversation_id: int
    member_id: int
    last_read_message_id: int = Field(
        description="the newest message of the conversation when it was read; 0 for none"
    )
