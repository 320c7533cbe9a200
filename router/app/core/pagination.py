"""One pagination shape for every list: `?limit=&cursor=` in, `{"items": [...], "next": ...}` out.

`next` is the cursor to the next page (the sort key of the last item), or null on the last page.
Clients pass it back as they got it; its form is in the OpenAPI (`pattern`) so that a cursor is
valid exactly when its schema says so: any string of that form is a place in the list (a page
after it, maybe empty), any other is a 422 naming `cursor`, as any bad query is.
- a list sorted by id: the id (`42`);
- a list sorted by a time, then id: the time in microseconds since 1970-01-01 UTC, `_`, the id
  (`1764581400123456_42`).
"""

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, WithJsonSchema

from app.core.ids import ID_DIGITS

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

_MICROSECONDS = r"[0-9]{1,16}"  # below 10^16 µs: before the year 2287, a datetime Python has
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
NOT_OURS = "not a cursor this API gave"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None  # pass as `cursor` for the next page; null on the last one


def _cursor_schema(pattern: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": f"^{pattern}$", "description": "`next` of the previous page"}
    )


def _id(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(ID_DIGITS, value):
        raise ValueError(NOT_OURS)
    return value


def _time_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = re.fullmatch(rf"({_MICROSECONDS})_({ID_DIGITS})", value)
    if match is None:
        raise ValueError(NOT_OURS)
    return _EPOCH + int(match[1]) * _MICROSECOND, int(match[2])


# The key of a list sorted by id.
IdCursor = Annotated[int, BeforeValidator(_id), _cursor_schema(ID_DIGITS)]
# The key of a list sorted by a time (naive UTC, as stored), then id. Typed Any for FastAPI, which
# would read a tuple-typed parameter from the body; the validator makes it the key.
TimeIdCursor = Annotated[
    Any, BeforeValidator(_time_id), _cursor_schema(f"{_MICROSECONDS}_{ID_DIGITS}")
]

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _encode(key: Any) -> str:
    if isinstance(key, tuple):
        at, id_ = key
        return f"{(at - _EPOCH) // _MICROSECOND}_{id_}"
    return str(key)


def page_of(items: Sequence[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Items fetched with `limit + 1`: the page, and the cursor to the next one if there is one.

    `key` gives an item's sort key: its id, or (its naive UTC time, its id)."""
    page = list(items[:limit])
    if len(items) <= limit or not page:
        return page, None
    return page, _encode(key(page[-1]))
