"""`/api/v1/tenants`: the operator's: tenants and their first key."""

from fastapi import APIRouter

from app.auth import service as keys
from app.auth.principal import OperatorDep
from app.auth.schemas import KeyIn, NewKeyOut
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.tenants import repository, service
from app.tenants.schemas import TenantIn, TenantOut

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"], responses=answers())


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict))
async def create_tenant(body: TenantIn, _: OperatorDep, session: SessionDep) -> TenantOut:
    """Create a tenant (the operator only)."""
    return TenantOut.model_validate(await service.create(session, body.name))


@router.post(
    "/{tenant_id}/api-keys", status_code=201, responses=declared(UnreadableBody, NotFound, Conflict)
)
async def create_first_key(
    tenant_id: IdPath, body: KeyIn, _: OperatorDep, session: SessionDep
) -> NewKeyOut:
    """A key for a tenant (the operator only): how a new tenant gets its first owner key.

    The key is in this answer only; it is stored hashed."""
    if await repository.get(session, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    return await keys.create(session, tenant_id, body)
