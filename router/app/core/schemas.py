"""Types the API's schemas share.

A body's schema says exactly what is accepted: a value it allows is never refused by a check it
does not show, and a value it refuses is never let through. So a text's limits apply to what is
sent (surrounding blanks are dropped only after they are checked), and what would be refused
later is refused by the schema: a text of blanks only, a NUL (PostgreSQL's text cannot hold one).
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)


def with_offset(value: datetime) -> str:
    # The store keeps naive UTC; a client must not have to guess the zone. (Spelt out for the
    # naive case: a third of the time of making the value aware first, on every timestamp sent.)
    if value.tzinfo is None:
        return f"{value.isoformat()}+00:00"
    return value.astimezone(UTC).isoformat()


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(with_offset, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

# Unicode's White_Space, spelt out for a regex's [...]: `\s` differs between regex engines (the
# one checking a request, those a client or a fuzzer generates with); this class does not.
_BLANK = r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
BLANK_CHARACTERS = "".join(c for c in map(chr, range(0x3001)) if re.fullmatch(f"[{_BLANK}]", c))

NO_NUL = r"^[^\x00]*$"
# Something besides blanks, and no NUL.
NOT_BLANK = rf"^[^\x00]*[^\x00{_BLANK}][^\x00]*$"


def _strip(value: str) -> str:
    return value.strip(BLANK_CHARACTERS)


def not_blank(max_length: int) -> StringConstraints:
    """1 to `max_length` characters as sent, something besides blanks among them, no NUL."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=NOT_BLANK)


STRIPPED = AfterValidator(_strip)  # after the checks, so the limits are those of what was sent

Name = Annotated[str, not_blank(200), STRIPPED]
Email = Annotated[
    str,
    StringConstraints(
        max_length=320, pattern=rf"^[{_BLANK}]*[^@\x00{_BLANK}]+@[^@\x00{_BLANK}]+[{_BLANK}]*$"
    ),
    AfterValidator(lambda value: _strip(value).lower()),  # one address, however it was typed
]
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,64}$")]


def json_integer(what: str) -> BeforeValidator:
    """JSON Schema's integer, where lax parsing would take more: a number without a fraction (2.0
    is one), never `true` or `"2"`. A 422 says `{what} is an integer` ("a priority", "an id").

    Place it after the `Field` holding the bounds: a validator before them hides them from the
    OpenAPI schema."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{what} is an integer")
        return value

    return BeforeValidator(check)


class Input(BaseModel):
    """A request body: an unknown field is a 422 naming it, not silently dropped.

    In a PATCH only the fields sent change (`model_dump(exclude_unset=True)`). A field that may
    be left out but not set to null is typed `X | MISSING = MISSING`: its schema is X's alone, so
    null is refused by the schema, not by a check it hides. One where null means something (no
    email) is `X | None = None`."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
