from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from app.auth.roles import Role
from app.contacts.schemas import ContactOut
from app.conversations.schemas import ConversationOut
from app.core.schemas import UtcDateTime
from app.messages.schemas import ConversationMessage


class EventType(StrEnum):
    MESSAGE_CREATED = "message.created"  # inbound, a bot's reply part, a member's message
    MESSAGE_STATUS = "message.status"  # accepted, sent, delivered, read, failed; an inbound's end
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"  # owner, status, a member writing takes it
    CONTACT_UPDATED = "contact.updated"  # edited, blocked, unblocked, a number or user id moved


class Event(BaseModel):
    """One event of the tenant's stream: `data` is the object as the API returns it when the event
    is sent (replayed, its state then)."""

    type: EventType
    id: int = Field(description="increases; send the last one seen to resume after it")
    tenant_id: int
    at: UtcDateTime
    data: ConversationMessage | ConversationOut | ContactOut


class TicketOut(BaseModel):
    ticket: str = Field(
        description="for `?ticket=` on GET /api/v1/events and /api/v1/ws (a browser cannot set "
        "headers on either); acts as the caller, in the caller's tenant, until `expires_at`"
    )
    expires_at: UtcDateTime


class Me(BaseModel):
    tenant_id: int
    tenant_name: str
    member_id: int | None = Field(description="the member the caller acts as; null for none")
    member_name: str | None
    role: Role | None = Field(description="null for the operator, who may do everything")
    auth: Literal["api_key", "jwt", "operator"]
