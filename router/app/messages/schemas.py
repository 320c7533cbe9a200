import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.contacts.models import Contact
from app.conversations.models import BOT_NAME
from app.core.ids import IdField
from app.core.schemas import Input, UtcDateTime
from app.messages.repository import Row
from app.payload import storable_text
from app.store.models import Direction, Sender
from app.templates.schemas import TemplateIn


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
    template: dict[str, Any] | None = Field(
        description="a template message's `name`, `language` and `components`; null otherwise"
    )
    status: str
    error_code: int | None
    error_title: str | None
    wamid: str | None
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
            template=stored_template(m.template),
            status=m.status,
            error_code=m.error_code,
            error_title=m.error_title,
            wamid=m.wamid,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


def stored_template(stored: str | None) -> dict[str, Any] | None:
    """A message's template, kept as JSON in its row."""
    if stored is None:
        return None
    template: dict[str, Any] = json.loads(stored)
    return template


def _sender(stored: str | None, direction: str) -> Sender:
    if stored is not None:
        return Sender(stored)
    # Written by the message path before routing names the sender: the direction says it.
    return Sender.CONTACT if direction == Direction.INBOUND.value else Sender.AI


# WhatsApp's limit for a text message: a member's message goes out as one.
MAX_TEXT = 4096


def _storable_text(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    # What JSON can carry and the store cannot (a lone surrogate, NUL) becomes U+FFFD.
    return storable_text(text)


MessageText = Annotated[
    str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_storable_text)
]
AuthorId = Annotated[
    int | None,
    Field(
        ge=1,
        description="the member who writes; by default the member the key acts as. Owner and "
        "admin keys and the operator may name another member of the tenant.",
    ),
]


class TextIn(Input):
    """What a member writes to the contact: a text."""

    text: MessageText
    author_id: AuthorId = None


class TemplateMessageIn(Input):
    """What a member sends the contact: a template (the only kind outside the 24-hour window)."""

    template: TemplateIn
    author_id: AuthorId = None


MessageIn = TextIn | TemplateMessageIn

# Whom POST /api/v1/messages writes to: a contact's id (a JSON integer), or a phone number (a
# JSON string: digits, a leading + allowed), its wa_id, made a contact when none has it.
PhoneNumber = Annotated[
    str,
    StringConstraints(pattern=r"^\+?[0-9]{6,15}$"),
    AfterValidator(lambda value: value.removeprefix("+")),
]
Recipient = Annotated[
    IdField | PhoneNumber,
    Field(
        description="a contact's id (an integer), or a phone number (a string, its `wa_id`): a "
        "number no contact has becomes a contact, with a conversation whose 24-hour window is "
        "closed"
    ),
]


class SendTextIn(Input):
    """A text to a contact from a channel's number (only inside the 24-hour window)."""

    channel_id: IdField
    to: Recipient
    text: MessageText


class SendTemplateIn(Input):
    """A template to a contact from a channel's number (whatever the window)."""

    channel_id: IdField
    to: Recipient
    template: TemplateIn


SendIn = SendTextIn | SendTemplateIn
