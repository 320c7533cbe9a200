from typing import Annotated

from pydantic import (
    MISSING,
    AfterValidator,
    ConfigDict,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict

from app.core.schemas import (
    NO_NUL,
    STRIPPED,
    Email,
    Input,
    Output,
    UtcDateTime,
    not_blank,
)

# The phone number: digits, a leading + allowed (as messages and the inbound take it); kept as
# its digits, as WhatsApp's webhooks name the contact.
WaId = Annotated[
    str,
    StringConstraints(pattern=r"^\+?[0-9]{1,64}$"),
    AfterValidator(lambda value: value.removeprefix("+")),
]
UserId = Annotated[str, not_blank(128), STRIPPED]
ContactName = Annotated[str, not_blank(255), STRIPPED]
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]


def _identified_by(field: str) -> JsonDict:
    return {"required": [field], "properties": {field: {"type": "string"}}}


class ContactIn(Input):
    # The schema says what the validator below checks, so a client (or a fuzzer) sees it.
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [_identified_by("wa_id"), _identified_by("user_id")]}
    )

    wa_id: WaId | None = None
    user_id: UserId | None = None  # the business-scoped user id (BSUID)
    name: ContactName | None = None
    email: Email | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _identified(self) -> "ContactIn":
        if self.wa_id is None and self.user_id is None:
            raise ValueError("wa_id or user_id: a contact needs at least one of them")
        return self


class ContactPatch(Input):
    # Set: WhatsApp's profile name no longer overwrites it; null: the profile name applies again.
    name: ContactName | None = None
    email: Email | None = None
    description: Description | None = None
    is_blocked: StrictBool | MISSING = MISSING


class ContactOut(Output):
    id: int
    wa_id: str | None
    user_id: str | None
    name: str | None
    name_edited: bool
    email: str | None
    description: str | None
    is_blocked: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ContactSummary(Output):
    id: int
    wa_id: str | None
    user_id: str | None
    name: str | None
