from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints

from app.channels.models import ChannelType
from app.core.schemas import Input, Name, NotNull, Output, UtcDateTime

# Digits only: it becomes a path segment of Graph API URLs.
PhoneNumberId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,64}$")]
DisplayNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
]
WabaId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,64}$")]
Token = Annotated[SecretStr, Field(min_length=1, max_length=4096)]


class WhatsAppChannelIn(Input):
    type: Literal["whatsapp"]
    name: Name
    phone_number_id: PhoneNumberId
    # The Graph API's, when left out.
    display_phone_number: DisplayNumber | None = None
    waba_id: WabaId | None = None
    access_token: Token


class ApiChannelIn(Input):
    type: Literal["api"]
    name: Name


ChannelIn = Annotated[WhatsAppChannelIn | ApiChannelIn, Field(discriminator="type")]


class ChannelPatch(Input):
    name: NotNull[Name] = None
    display_phone_number: NotNull[DisplayNumber] = None
    waba_id: WabaId | None = None
    access_token: NotNull[Token] = None  # checked against the Graph API before it is saved


class ChannelOut(Output):
    """A channel; its access token is write-only and never in an answer."""

    id: int
    type: ChannelType
    name: str
    phone_number_id: str | None
    display_phone_number: str | None
    waba_id: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
