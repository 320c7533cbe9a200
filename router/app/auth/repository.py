"""API keys: looked up by their public id, listed and revoked per tenant."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.core.clock import utcnow


async def find_active(session: AsyncSession, public_id: str) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.public_id == public_id, ApiKey.revoked_at.is_(None))
    )
    return key


async def get(session: AsyncSession, tenant_id: int, key_id: int) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
    )
    return key


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id).limit(limit)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    return list((await session.scalars(query)).all())


async def revoke_member_keys(
    session: AsyncSession, tenant_id: int, member_id: int, at: datetime
) -> None:
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.tenant_id == tenant_id,
            ApiKey.member_id == member_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )


async def touch(session: AsyncSession, key: ApiKey) -> None:
    key.last_used_at = utcnow()
    await session.commit()
