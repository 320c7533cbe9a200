"""`/api/v1/members`: the tenant's people and their roles (owners write; every role reads, so
that agents can transfer a conversation to a colleague)."""

from fastapi import APIRouter, Response

from app.auth.principal import AccessScope, ReadScope
from app.core.db import SessionDep
from app.core.errors import UnreadableBody, answers
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.errors import Conflict, NotFound, declared
from app.members import service
from app.members.schemas import MemberIn, MemberOut, MemberPatch

router = APIRouter(prefix="/api/v1/members", tags=["members"], responses=answers(NotFound))


@router.get("")
async def list_members(
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[MemberOut]:
    """The tenant's members, oldest first."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict))
async def create_member(body: MemberIn, scope: AccessScope, session: SessionDep) -> MemberOut:
    """Add a member (invite them by email or by their identity provider's subject)."""
    return MemberOut.model_validate(await service.create(session, scope.tenant_id, body))


@router.patch("/{member_id}", responses=declared(UnreadableBody, Conflict))
async def update_member(
    member_id: IdPath, body: MemberPatch, scope: AccessScope, session: SessionDep
) -> MemberOut:
    """Change a member's name, role, email or subject; the last owner stays an owner."""
    member = await service.update(session, scope.tenant_id, member_id, body)
    return MemberOut.model_validate(member)


@router.delete("/{member_id}", status_code=204, responses=declared(Conflict))
async def delete_member(member_id: IdPath, scope: AccessScope, session: SessionDep) -> Response:
    """Remove a member: their conversations go back to the bot and their keys stop working."""
    await service.delete(session, scope.tenant_id, member_id)
    return Response(status_code=204)
