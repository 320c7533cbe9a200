import json
import re
from typing import Annotated, Any, Self

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict

from app.contacts.models import Contact
from app.conversations.models import BOT_NAME
from app.core.ids import ID_DIGITS, MAX_ID, IdField
from app.core.schemas import Input, UtcDateTime
from app.inbound.payload import storable_text
from app.media.attachment import public_contacts, public_location, public_media
from app.media.schemas import (
    CAPTION_FIELD,
    FILE_FIELD,
    FileForm,
    LocationOut,
    MediaIn,
    MediaOut,
    SharedContact,
)
from app.messages.models import Direction, Sender
from app.messages.repository import AuthoredMessage
from app.templates.schemas import TemplateIn


class Author(BaseModel):
    id: int | None = Field(description="the contact's or the member's id; null for the bot")
    name: str | None


class ConversationMessage(BaseModel):
    id: int
    conversation_id: int | None = Field(
        description="null only for a message kept outside any "
        "conversation (to a number no channel has)"
    )
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
    agent_id: int | None = Field(description="a reply of the bot: the agent that wrote it")
    ignored_by_rule_id: int | None = Field(
        description="an inbound message kept `ignored` by an ignore rule: the rule"
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime
    content: str | None = Field(
        description="the text again, as the conversation backend names it (see docs/coming-from.md)"
    )
    media: MediaOut | None = Field(
        default=None, description="an image, video, audio, document or sticker; null otherwise"
    )
    location: LocationOut | None = Field(default=None, description="a location message's")
    contacts: list[SharedContact] | None = Field(
        default=None, description="a contacts message's cards; null otherwise"
    )

    @classmethod
    def of(cls, row: AuthoredMessage, contact: Contact) -> "ConversationMessage":
        author = row.author
        return cls._made(
            row.message,
            (contact.id, contact.name),
            (author.id, author.name) if author is not None else (None, None),
        )

    @classmethod
    def _made(
        cls, m: Any, contact: tuple[int, str | None], author_of: tuple[int | None, str | None]
    ) -> "ConversationMessage":
        sender = sender_of(m.sender, m.direction)
        author_id, author_name = author_fields(sender, contact, author_of)
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            direction=Direction(m.direction),
            sender=sender,
            author=Author(id=author_id, name=author_name),
            type=m.type,
            text=m.text,
            template=stored_template(m.template),
            status=m.status,
            error_code=m.error_code,
            error_title=m.error_title,
            wamid=m.wamid,
            agent_id=m.agent_id,
            ignored_by_rule_id=m.ignored_by_rule_id,
            created_at=m.created_at,
            updated_at=m.updated_at,
            content=m.text,
            **attachment_fields(m.attachment, m.id),
        )


def attachment_fields(stored: str | None, message_id: int) -> dict[str, Any]:
    """A message's `media`, `location` and `contacts`, from its stored attachment."""
    if stored is None:
        return {"media": None, "location": None, "contacts": None}
    return {
        "media": public_media(stored, message_id),
        "location": public_location(stored),
        "contacts": public_contacts(stored),
    }


def stored_template(stored: str | None) -> dict[str, Any] | None:
    """A message's template, kept as JSON in its row."""
    if stored is None:
        return None
    template: dict[str, Any] = json.loads(stored)
    return template


def author_fields(
    sender: Sender, contact: tuple[int, str | None], member: tuple[int | None, str | None]
) -> tuple[int | None, str | None]:
    """A message's author's id and name: its contact's, its member's, or the bot's (no id)."""
    if sender is Sender.CONTACT:
        return contact
    if sender is Sender.AGENT:
        return member
    return None, BOT_NAME


def sender_of(stored: str | None, direction: str) -> Sender:
    """Who wrote a message, as its row says."""
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


def _one_of(field: str, kind: str) -> JsonDict:
    return {"required": [field], "properties": {field: {"type": kind}}}


def digits_of(value: Any) -> Any:
    """A form's id: its digits, nothing lax parsing would add (`+1`, `1_0`, ` 1`)."""
    if isinstance(value, str) and not re.fullmatch(ID_DIGITS, value):
        raise ValueError("an id is its digits")
    return value


# A text, a template or a file by its link, one of them: the schema says what the validator below
# checks.
TEXT_OR_TEMPLATE = ConfigDict(
    json_schema_extra={
        "oneOf": [
            _one_of("text", "string"),
            _one_of("template", "object"),
            _one_of("media", "object"),
        ]
    }
)


class _TextOrTemplate(Input):
    model_config = TEXT_OR_TEMPLATE

    text: MessageText | MISSING = MISSING
    template: TemplateIn | MISSING = MISSING
    media: MediaIn | MISSING = Field(
        default=MISSING,
        description="a file Meta fetches from a public link; to send a file of your own, post "
        "the same endpoint a multipart form with `file`",
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        if len({"text", "template", "media"} & self.model_fields_set) != 1:
            raise ValueError("text, template or media: a message is one of them")
        return self

    @property
    def sent_media(self) -> MediaIn | None:
        return self.media if isinstance(self.media, MediaIn) else None

    @property
    def sent_template(self) -> TemplateIn | None:
        return self.template if isinstance(self.template, TemplateIn) else None

    @property
    def sent_text(self) -> str | None:
        return self.text if isinstance(self.text, str) else None


class MessageIn(_TextOrTemplate):
    """What a member writes to the contact: a text, or a template (the only kind that goes
    outside the 24-hour window)."""

    author_id: AuthorId = None


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


class SendIn(_TextOrTemplate):
    """A text (only inside the 24-hour window) or a template (whatever the window) to a contact,
    from a channel's number."""

    channel_id: IdField
    to: Recipient


# An id in a form's text field: its digits.
FormId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(digits_of)]


class MessageFileForm(FileForm):
    """A member's file to the conversation's contact: the form's text fields."""

    author_id: FormId | None = None


class SendFileForm(FileForm):
    """A file to a phone number (`to`, its wa_id: made a contact when none has it), from a
    channel's number: the form's text fields. (A form's values are all text: a contact's id, a
    JSON integer in JSON's `to`, has no place here; a conversation's own endpoint takes its
    file.)"""

    channel_id: FormId
    to: PhoneNumber


# The multipart bodies, as the OpenAPI document describes them.
MESSAGE_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": FILE_FIELD,
        "caption": CAPTION_FIELD,
        "author_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    "additionalProperties": False,
}
SEND_FORM = {
    "type": "object",
    "required": ["file", "channel_id", "to"],
    "properties": {
        "file": FILE_FIELD,
        "caption": CAPTION_FIELD,
        "channel_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "to": {
            "type": "string",
            "pattern": r"^\+?[0-9]{6,15}$",
            "description": "a phone number (its wa_id), made a contact when none has it",
        },
    },
    "additionalProperties": False,
}
