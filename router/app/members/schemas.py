from typing import Annotated

from pydantic import MISSING, Field

from app.auth.roles import Role
from app.core.ids import IdField
from app.core.schemas import STRIPPED, Email, Input, Name, Output, UtcDateTime, not_blank

Subject = Annotated[str, not_blank(255), STRIPPED]


class MemberIn(Input):
    """A member; invited by `email` (bound to their subject at their first sign-in with a
    verified email) or by `oidc_subject` (the identity provider's `sub`)."""

    name: Name
    role: Role
    email: Email | None = None
    oidc_subject: Subject | None = None


class MemberPatch(Input):
    name: Name | MISSING = MISSING
    role: Role | MISSING = MISSING
    email: Email | None = None  # null: no email
    oidc_subject: Subject | None = None  # null: no subject


class MemberOut(Output):
    id: int
    name: str
    role: Role
    email: str | None
    oidc_subject: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MemberChannelIn(Input):
    """A number (channel) of the tenant to put the member on."""

    channel_id: IdField


class UserOut(Output):
    """The signed-in member: their profile as the multi-number platform's `users/me` shows it."""

    id: int = Field(description="the member's id")
    name: str
    email: str | None
    role: Role = Field(description="the member's role (a key of theirs may have a lesser one)")
    tenant_id: int
