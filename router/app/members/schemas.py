from typing import Annotated

from pydantic import StringConstraints

from app.auth.roles import Role
from app.core.schemas import Email, Input, Name, NotNull, Output, UtcDateTime

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class MemberIn(Input):
    """A member; invited by `email` (bound to their subject at their first sign-in with a
    verified email) or by `oidc_subject` (the identity provider's `sub`)."""

    name: Name
    role: Role
    email: Email | None = None
    oidc_subject: Subject | None = None


class MemberPatch(Input):
    name: NotNull[Name] = None
    role: NotNull[Role] = None
    email: Email | None = None  # null: no email
    oidc_subject: Subject | None = None


class MemberOut(Output):
    id: int
    name: str
    role: Role
    email: str | None
    oidc_subject: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
