from typing import Annotated

from pydantic import Field

from app.auth.keys import display_prefix
from app.auth.models import ApiKey
from app.auth.roles import Role
from app.core.ids import IdField
from app.core.schemas import Input, Name, Output, UtcDateTime

ChannelIds = Annotated[
    list[IdField],
    Field(
        min_length=1,
        max_length=1000,
        description="an agent's or viewer's key limited to these numbers (channels) of the "
        "tenant: it sees only their conversations, messages and events; left out or null: every "
        "number",
    ),
]


class KeyIn(Input):
    name: Name
    role: Role
    # The member the key acts as (the author of what it writes); its role may not exceed theirs.
    member_id: IdField | None = None
    channel_ids: ChannelIds | None = None


class KeyOut(Output):
    id: int
    name: str
    role: Role
    member_id: int | None
    channel_ids: list[int] | None = Field(
        description="the numbers (channels) whose conversations, messages and events the key "
        "sees; null: every number (or, for a key of a member, the member's)"
    )
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
            channel_ids=key.channel_ids,
            prefix=display_prefix(key.public_id),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")
