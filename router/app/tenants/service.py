from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import commit_or_conflict
from app.core.errors import Conflict
from app.tenants import repository
from app.tenants.models import Tenant


async def create(session: AsyncSession, name: str) -> Tenant:
    taken = f"a tenant named {name!r} exists"
    if await repository.by_name(session, name) is not None:
        raise Conflict(taken)
    tenant = Tenant(name=name)
    session.add(tenant)
    await commit_or_conflict(session, taken)
    return tenant
