"""Members and their roles; a tenant always keeps an owner."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as api_keys
from app.auth.roles import Role
from app.auth.scope import Scope
from app.channels import service as channels
from app.channels.models import Channel
from app.conversations import repository as conversations
from app.core.clock import utcnow
from app.core.db import commit_or_conflict
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of
from app.members import repository
from app.members.models import Member
from app.members.schemas import MemberIn, MemberOut, MemberPatch
from app.tenants import repository as tenants

TAKEN = "a member of this tenant already has this email or subject"


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> tuple[list[MemberOut], str | None]:
    rows = await repository.page(session, tenant_id, after_id, limit + 1)
    items, cursor = page_of(rows, limit, lambda m: m.id)
    return [MemberOut.model_validate(m) for m in items], cursor


async def get(session: AsyncSession, tenant_id: int, member_id: int) -> Member:
    member = await repository.get(session, tenant_id, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}")
    return member


async def create(session: AsyncSession, tenant_id: int, body: MemberIn) -> Member:
    if await repository.taken(session, tenant_id, email=body.email, subject=body.oidc_subject):
        raise Conflict(TAKEN)
    member = Member(
        tenant_id=tenant_id,
        name=body.name,
        role=body.role.value,
        email=body.email,
        oidc_subject=body.oidc_subject,
    )
    session.add(member)
    await commit_or_conflict(session, TAKEN)
    return member


async def update(
    session: AsyncSession, tenant_id: int, member_id: int, body: MemberPatch
) -> Member:
    member = await get(session, tenant_id, member_id)
    changes = body.model_dump(exclude_unset=True)
    if await repository.taken(
        session,
        tenant_id,
        email=changes.get("email"),
        subject=changes.get("oidc_subject"),
        other_than=member.id,
    ):
        raise Conflict(TAKEN)
    if changes.get("role", Role.OWNER) != Role.OWNER:
        await _keep_an_owner(session, member)
    for field, value in changes.items():
        setattr(member, field, value.value if isinstance(value, Role) else value)
    await commit_or_conflict(session, TAKEN)
    return member


async def delete(session: AsyncSession, tenant_id: int, member_id: int) -> None:
    """Remove a member: their conversations go back to the bot, their keys stop working."""
    member = await get(session, tenant_id, member_id)
    await _keep_an_owner(session, member)
    now = utcnow()
    await conversations.hand_back_all(session, tenant_id, member.id, now)
    await api_keys.revoke_member_keys(session, tenant_id, member.id, now)
    await session.delete(member)
    await session.commit()


async def _keep_an_owner(session: AsyncSession, member: Member) -> None:
    if member.role != Role.OWNER.value:
        return
    await tenants.lock(session, member.tenant_id)
    if await repository.count_owners(session, member.tenant_id) <= 1:
        raise Conflict(f"member {member.id} is the tenant's last owner: name another owner first")


# --- the numbers (channels) a member is on ----------------------------------------------------


async def channels_of(session: AsyncSession, tenant_id: int, member_id: int) -> list[Channel]:
    member = await get(session, tenant_id, member_id)
    return await repository.channels(session, member.id)


async def add_channel(
    session: AsyncSession, tenant_id: int, member_id: int, channel_id: int
) -> tuple[Channel, bool]:
    """Put the member on the tenant's number; True when they were not on it yet. Idempotent."""
    member = await get(session, tenant_id, member_id)
    channel = await channels.get(session, tenant_id, channel_id)  # another tenant's: 404
    added = await repository.add_channel(session, member.id, channel.id)
    await session.commit()
    return channel, added


async def remove_channel(
    session: AsyncSession, tenant_id: int, member_id: int, channel_id: int
) -> None:
    """Take the member off the number; idempotent. Off their last one, they see every number."""
    member = await get(session, tenant_id, member_id)
    channel = await channels.get(session, tenant_id, channel_id)
    await repository.remove_channel(session, member.id, channel.id)
    await session.commit()


async def signed_in(session: AsyncSession, scope: Scope) -> Member:
    """The member the caller acts as; 404 for a key of no member (the operator's included)."""
    member_id = scope.principal.member_id
    if member_id is None:
        raise NotFound("this key acts as no member: sign in as one, or use a key bound to one")
    return await get(session, scope.tenant_id, member_id)
