"""`/api/v1/api-keys`: the tenant's keys (owners)."""

from fastapi import APIRouter, Response

from app.auth import service
from app.auth.principal import AccessScope
from app.auth.schemas import KeyIn, KeyOut, NewKeyOut
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"], responses=answers(NotFound))


@router.get("")
async def list_keys(
    scope: AccessScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[KeyOut]:
    """The tenant's keys, oldest first, revoked ones included; never the keys themselves."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict))
async def create_key(body: KeyIn, scope: AccessScope, session: SessionDep) -> NewKeyOut:
    """A new key; `key` is in this answer only (stored hashed, prefixed `wr_live_`)."""
    return await service.create(session, scope.tenant_id, body)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: IdPath, scope: AccessScope, session: SessionDep) -> Response:
    """Revoke a key: it stops working at once."""
    await service.revoke(session, scope.tenant_id, key_id)
    return Response(status_code=204)
