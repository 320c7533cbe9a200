"""Ids: 1 to 999,999,999,999,999 (15 digits) in the platform's API, whatever the store.

Small enough for every JSON client to read exactly (JavaScript's numbers stop at 2^53), and for a
schema's `maximum` to mean the same to every validator (those comparing as doubles misjudge a
bound near 2^63). An id outside the range is a 422 (its schema says so); one inside it that no row
has is a 404, even one the store's column could never hold: the id columns are INTEGER (32-bit on
PostgreSQL), and `IdColumn` compares them with a BIGINT, so a larger id finds nothing instead of
overflowing the driver's int4 encoder.
"""

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import Field
from sqlalchemy import BigInteger, Integer
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.core.schemas import json_integer

MAX_ID = 10**15 - 1
# An id sent as text of its own (a header, a cursor): its digits, a pattern saying exactly what
# "integer" would leave to lax parsing (`+1`, `1_0`, ` 1`).
ID_DIGITS = r"[1-9][0-9]{0,14}"

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


IdField = Annotated[int, Field(ge=1, le=MAX_ID), json_integer("an id")]  # in a body


class IdColumn(TypeDecorator[int]):
    """INTEGER in the schema (the migrations' type); a value compared with it binds as BIGINT.

    Foreign keys take their target's type, so theirs compare the same way. PostgreSQL compares
    int4 with int8 through the same btree operator family: the indexes still serve."""

    impl = Integer
    cache_ok = True

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        return BigInteger()
