"""One pagination shape for every list: `?limit=&cursor=` in, `{"items": [...], "next": ...}` out.

`next` is an opaque cursor (the sort key of the last item, base64url-encoded JSON), or null on the
last page. A cursor that is not one the API gave is a 422 naming `cursor`, as any bad query is.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError, WithJsonSchema

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None  # pass as `cursor` for the next page; null on the last one


def encode_cursor(*key: Any) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        key = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        raise ValueError("not a cursor this API gave") from None
    return key[0] if isinstance(key, list) and len(key) == 1 else key


_AS_STRING = WithJsonSchema({"type": "string", "description": "`next` of the previous page"})

# The key of a list sorted by id.
IdCursor = Annotated[int, BeforeValidator(_decode), _AS_STRING]
_TIME_ID = TypeAdapter(tuple[datetime, int])


def _time_id(value: Any) -> tuple[datetime, int]:
    try:
        return _TIME_ID.validate_python(_decode(value))
    except ValidationError:
        raise ValueError("not a cursor this API gave") from None


# The key of a list sorted by a time, then id. Typed Any for FastAPI, which would read a
# tuple-typed parameter from the body; the validator makes it the key.
TimeIdCursor = Annotated[Any, BeforeValidator(_time_id), _AS_STRING]

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def page_of(items: Sequence[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Items fetched with `limit + 1`: the page, and the cursor to the next one if there is one."""
    page = list(items[:limit])
    if len(items) <= limit or not page:
        return page, None
    last = key(page[-1])
    return page, encode_cursor(*(last if isinstance(last, tuple) else (last,)))
