from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")


async def add(sessions: Sessions, row: T) -> T:
    async with sessions() as session:
        session.add(row)
        await session.commit()
    return row
