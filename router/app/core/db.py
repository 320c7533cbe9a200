"""The management API's database session: a plain session per request.

The message path writes through the group-commit writer (`app/core/writer.py`); management
requests are rare and each wants its own transaction, so they get an ordinary session.
"""

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from app.core.errors import Conflict
from app.core.state import lifespan_state


class Base(DeclarativeBase):
    """Every table's base: the messages' and each domain package's own."""


async def get_session(
    state: Annotated[Any, Depends(lifespan_state)],
) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    async with sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def commit_or_conflict(session: AsyncSession, conflict: str) -> None:
    """Commit; a unique constraint a concurrent request won is a 409 saying `conflict`."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(conflict) from None


def conflict_insert(dialect_name: str, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT: SQLite's and PostgreSQL's spell it the same way."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


T = TypeVar("T")
# Values bound in one `IN (...)`: SQLite refuses a statement of more than 32,766 variables, and a
# webhook round can carry thousands of messages.
IN_CHUNK = 500


def chunked(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size` (none for no values)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
