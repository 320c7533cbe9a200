from pydantic import BaseModel, Field, field_validator

from app.contacts.models import Contact
from app.conversations.models import BOT_NAME
from app.core.schemas import Input, UtcDateTime
from app.messages.repository import Row
from app.payload import storable_text
from app.store.models import Direction, Sender


class Author(BaseModel):
    id: int | None = Field(description="the contact's or the member's id; null for the bot")
    name: str | None


class ConversationMessage(BaseModel):
    id: int
    direction: Direction
    sender: Sender
    author: Author
    type: str
    text: str | None
    status: str
    error_code: int | None
    error_title: str | None
    wamid: str | None
    agent_id: int | None = Field(description="a reply of the bot: the agent that wrote it")
    ignored_by_rule_id: int | None = Field(
        description="an inbound message kept `ignored` by an ignore rule: the rule"
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, row: Row, contact: Contact) -> "ConversationMessage":
        m = row.message
        sender = _sender(m.sender, m.direction)
        if sender is Sender.CONTACT:
            author = Author(id=contact.id, name=contact.name)
        elif sender is Sender.AGENT:
            author = Author(
                id=row.author.id if row.author else None,
                name=row.author.name if row.author else None,
            )
        else:
            author = Author(id=None, name=BOT_NAME)
        return cls(
            id=m.id,
            direction=Direction(m.direction),
            sender=sender,
            author=author,
            type=m.type,
            text=m.text,
            status=m.status,
            error_code=m.error_code,
            error_title=m.error_title,
            wamid=m.wamid,
            agent_id=m.agent_id,
            ignored_by_rule_id=m.ignored_by_rule_id,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


def _sender(stored: str | None, direction: str) -> Sender:
    if stored is not None:
        return Sender(stored)
    # Written by the message path before routing names the sender: the direction says it.
    return Sender.CONTACT if direction == Direction.INBOUND.value else Sender.AI


# WhatsApp's limit for a text message: a member's message goes out as one.
MAX_TEXT = 4096


class MessageIn(Input):
    """What a member writes to the contact."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    author_id: int | None = Field(
        default=None,
        ge=1,
        description="the member who writes; by default the member the key acts as. Owner and "
        "admin keys and the operator may name another member of the tenant.",
    )

    @field_validator("text")
    @classmethod
    def _storable(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be blank")
        # What JSON can carry and the store cannot (a lone surrogate, NUL) becomes U+FFFD.
        return storable_text(text)
