from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from app.core.schemas import Input
from app.inbound.payload import storable_text
from app.messages.schemas import MAX_TEXT, ConversationMessage

# The ids' column is 32-bit on PostgreSQL.
LARGEST_ID = 2**31 - 1
# Printable ASCII without spaces: identifiers another system gives, stored as they came.
Identifier = Annotated[str, StringConstraints(pattern=r"^[!-~]+$", min_length=1)]


class InboundIn(Input):
    """A message for an `api` channel, from the system it connects (a web chat, an SMS gateway)."""

    company_id: int = Field(ge=1, le=LARGEST_ID, description="the tenant")
    channel_id: int = Field(ge=1, le=LARGEST_ID, description="the tenant's `api` channel")
    from_: Annotated[Identifier, Field(max_length=64)] = Field(
        alias="from",
        description="who wrote it: a phone number (digits, a leading + allowed) is the contact's "
        "`wa_id`, so a person who also writes on WhatsApp is one contact; anything else is kept "
        "as the contact's `user_id`",
    )
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    channel_message_id: Annotated[Identifier, Field(max_length=200)] = Field(
        description="the message's id in the other system: the same id again is the same "
        "message, stored and answered once"
    )

    @field_validator("text")
    @classmethod
    def _storable(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be blank")
        return storable_text(text)


class InboundOut(BaseModel):
    conversation_id: int
    message: ConversationMessage
