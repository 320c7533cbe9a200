from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.members.models import Member


async def get(session: AsyncSession, tenant_id: int, member_id: int) -> Member | None:
    member: Member | None = await session.scalar(
        select(Member).where(Member.tenant_id == tenant_id, Member.id == member_id)
    )
    return member


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> list[Member]:
    query = select(Member).where(Member.tenant_id == tenant_id).order_by(Member.id).limit(limit)
    if after_id is not None:
        query = query.where(Member.id > after_id)
    return list((await session.scalars(query)).all())


async def taken(
    session: AsyncSession,
    tenant_id: int,
    *,
    email: str | None,
    subject: str | None,
    other_than: int | None = None,
) -> Member | None:
    """A member of the tenant that already has this email or subject."""
    clauses = []
    if email is not None:
        clauses.append(Member.email == email)
    if subject is not None:
        clauses.append(Member.oidc_subject == subject)
    if not clauses:
        return None
    query = select(Member).where(Member.tenant_id == tenant_id, or_(*clauses))
    if other_than is not None:
        query = query.where(Member.id != other_than)
    member: Member | None = await session.scalar(query.limit(1))
    return member


async def count_owners(session: AsyncSession, tenant_id: int) -> int:
    count = await session.scalar(
        select(func.count(Member.id)).where(
            Member.tenant_id == tenant_id, Member.role == Role.OWNER.value
        )
    )
    return int(count or 0)


async def first_with_role(session: AsyncSession, tenant_id: int, role: Role) -> Member | None:
    member: Member | None = await session.scalar(
        select(Member)
        .where(Member.tenant_id == tenant_id, Member.role == role.value)
        .order_by(Member.id)
        .limit(1)
    )
    return member


async def for_subject(session: AsyncSession, subject: str) -> list[Member]:
    """Every member the identity provider's subject is, across tenants."""
    return list((await session.scalars(select(Member).where(Member.oidc_subject == subject))).all())


async def bind_invitations(session: AsyncSession, email: str, subject: str) -> list[Member]:
    """Members invited by this (verified) email and not yet signed in: they become `subject`."""
    await session.execute(
        update(Member)
        .where(Member.email == email, Member.oidc_subject.is_(None))
        .values(oidc_subject=subject)
    )
    await session.commit()
    return await for_subject(session, subject)
