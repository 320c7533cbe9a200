from pydantic import Field

from app.auth.keys import display_prefix
from app.auth.models import ApiKey
from app.auth.roles import Role
from app.core.ids import IdField
from app.core.schemas import Input, Name, Output, UtcDateTime


class KeyIn(Input):
    name: Name
    role: Role
    # The member the key acts as (the author of what it writes); its role may not exceed theirs.
    member_id: IdField | None = None


class KeyOut(Output):
    id: int
    name: str
    role: Role
    member_id: int | None
    prefix: str  # the key's start, to recognise it; never enough to use it
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None

    @classmethod
    def of(cls, key: ApiKey) -> "KeyOut":
        return cls(
            id=key.id,
            name=key.name,
            role=Role(key.role),
            member_id=key.member_id,
            prefix=display_prefix(key.public_id),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")
