from typing import Annotated

from pydantic import StringConstraints, model_validator

from app.core.schemas import Email, Input, NotNull, Output, UtcDateTime

WaId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,64}$")]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
ContactName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class ContactIn(Input):
    wa_id: WaId | None = None  # the phone number, digits only
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
    is_blocked: NotNull[bool] = None


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
