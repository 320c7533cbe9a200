from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.channels.models import Channel
from app.core.clock import utcnow
from app.core.db import conflict_insert
from app.members.models import Member, MemberChannel


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


# --- the numbers (channels) members are on ----------------------------------------------------


async def channel_ids(session: AsyncSession, member_id: int) -> frozenset[int]:
    """The ids of the numbers the member is on."""
    found = await session.scalars(
        select(MemberChannel.channel_id).where(MemberChannel.member_id == member_id)
    )
    return frozenset(found.all())


async def channels(session: AsyncSession, member_id: int) -> list[Channel]:
    """The numbers the member is on, oldest channel first."""
    query = (
        select(Channel)
        .join(MemberChannel, MemberChannel.channel_id == Channel.id)
        .where(MemberChannel.member_id == member_id)
        .order_by(Channel.id)
    )
    return list((await session.scalars(query)).all())


async def add_channel(session: AsyncSession, member_id: int, channel_id: int) -> bool:
    """Put the member on the number; False when they were on it already (two calls at once
    included: the primary key keeps one row)."""
    dialect = (await session.connection()).dialect.name
    result: Any = await session.execute(
        conflict_insert(dialect, MemberChannel)
        .values(member_id=member_id, channel_id=channel_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["member_id", "channel_id"])
    )
    return bool(result.rowcount)


async def remove_channel(session: AsyncSession, member_id: int, channel_id: int) -> None:
    await session.execute(
        delete(MemberChannel).where(
            MemberChannel.member_id == member_id, MemberChannel.channel_id == channel_id
        )
    )


EMAIL_LENGTH = 320  # the columns'
SUBJECT_LENGTH = 255


async def provision(
    session: AsyncSession, tenant_id: int, subject: str, name: str | None, email: str | None
) -> Member | None:
    """A `viewer` of the (existing) tenant for a subject signing in for the first time, on no
    number. Two first requests at once make one member: the other finds it."""
    if len(subject) > SUBJECT_LENGTH:
        return None
    if email is not None and (
        len(email) > EMAIL_LENGTH or await taken(session, tenant_id, email=email, subject=None)
    ):
        email = None  # never bound to another member's address: made without one
    dialect = (await session.connection()).dialect.name
    now = utcnow()
    await session.execute(
        conflict_insert(dialect, Member)
        .values(
            tenant_id=tenant_id,
            name=name or subject[:200],
            email=email,
            oidc_subject=subject,
            role=Role.VIEWER.value,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    await session.commit()
    return next((m for m in await for_subject(session, subject) if m.tenant_id == tenant_id), None)
