import re
from typing import Annotated, Literal

from pydantic import MISSING, AfterValidator, Field, SecretStr

from app.channels.models import ChannelType
from app.core.schemas import (
    STRIPPED,
    Digits,
    Input,
    Name,
    Output,
    UtcDateTime,
    json_integer,
    not_blank,
)

# Digits only: it becomes a path segment of Graph API URLs.
PhoneNumberId = Digits
DisplayNumber = Annotated[str, not_blank(32), STRIPPED]
WabaId = Digits

# It travels as an HTTP header (`Authorization: Bearer ...`): visible ASCII, no blanks.
_VISIBLE_ASCII = r"[\x21-\x7e]+"


def _token_shape(token: SecretStr) -> SecretStr:
    if not re.fullmatch(_VISIBLE_ASCII, token.get_secret_value()):
        raise ValueError("an access token is visible ASCII without blanks")
    return token


# Burst debounce: how long a contact's quiet must last before their burst is answered as one turn.
MAX_DEBOUNCE_MS = 60_000


DebounceMs = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_DEBOUNCE_MS,
        description="burst debounce: a contact's messages that arrive within this many "
        "milliseconds of each other are answered once, as one turn; null or 0: off",
    ),
    json_integer("a debounce in milliseconds"),
]

Token = Annotated[
    SecretStr,
    Field(min_length=1, max_length=4096, json_schema_extra={"pattern": f"^{_VISIBLE_ASCII}$"}),
    AfterValidator(_token_shape),
]


class WhatsAppChannelIn(Input):
    type: Literal["whatsapp"]
    name: Name
    phone_number_id: PhoneNumberId
    # The Graph API's, when left out.
    display_phone_number: DisplayNumber | None = None
    waba_id: WabaId | None = None
    access_token: Token
    debounce_ms: DebounceMs | None = None


class ApiChannelIn(Input):
    type: Literal["api"]
    name: Name


ChannelIn = Annotated[WhatsAppChannelIn | ApiChannelIn, Field(discriminator="type")]


class ChannelPatch(Input):
    name: Name | MISSING = MISSING
    display_phone_number: DisplayNumber | MISSING = MISSING
    waba_id: WabaId | None = None  # null: no account
    access_token: Token | MISSING = MISSING  # checked against the Graph API before it is saved
    debounce_ms: DebounceMs | None = None  # null: off


class ChannelOut(Output):
    """A channel; its access token is write-only and never in an answer."""

    id: int
    type: ChannelType
    name: str
    phone_number_id: str | None
    display_phone_number: str | None
    waba_id: str | None
    debounce_ms: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
