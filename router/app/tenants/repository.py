from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tenants.models import Tenant


async def get(session: AsyncSession, tenant_id: int) -> Tenant | None:
    # A query rather than session.get(): the id is compared, so it may be any API id (IdColumn).
    tenant: Tenant | None = await session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    return tenant


async def by_name(session: AsyncSession, name: str) -> Tenant | None:
    tenant: Tenant | None = await session.scalar(select(Tenant).where(Tenant.name == name))
    return tenant


async def lock(session: AsyncSession, tenant_id: int) -> None:
    """Serialise the tenant's writes that check-then-create (PostgreSQL; SQLite has one writer)."""
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
