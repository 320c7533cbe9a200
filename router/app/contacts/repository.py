from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.db import conflict_insert


async def get(session: AsyncSession, tenant_id: int, contact_id: int) -> Contact | None:
    contact: Contact | None = await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )
    return contact


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    channel_id: int | None,
    q: str | None,
    blocked: bool | None,
    before_id: int | None,
    limit: int,
) -> list[Contact]:
    """Newest first."""
    query = (
        select(Contact)
        .where(Contact.tenant_id == tenant_id)
        .order_by(Contact.id.desc())
        .limit(limit)
    )
    if channel_id is not None:
        query = query.where(
            exists().where(
                Conversation.contact_id == Contact.id, Conversation.channel_id == channel_id
            )
        )
    if q:
        query = query.where(
            or_(
                Contact.name.icontains(q, autoescape=True),
                Contact.wa_id.icontains(q, autoescape=True),
                Contact.user_id.icontains(q, autoescape=True),
            )
        )
    if blocked is not None:
        query = query.where(Contact.is_blocked.is_(blocked))
    if before_id is not None:
        query = query.where(Contact.id < before_id)
    return list((await session.scalars(query)).all())


async def taken(
    session: AsyncSession, tenant_id: int, wa_id: str | None, user_id: str | None
) -> bool:
    match = _identified_by(wa_id, user_id)
    if match is None:
        return False
    return bool(await session.scalar(select(exists().where(Contact.tenant_id == tenant_id, match))))


def _identified_by(wa_id: str | None, user_id: str | None) -> ColumnElement[bool] | None:
    clauses = []
    if wa_id:
        clauses.append(Contact.wa_id == wa_id)
    if user_id:
        clauses.append(Contact.user_id == user_id)
    return or_(*clauses) if clauses else None


# --- the message path (for routing) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRoute:
    contact_id: int
    is_blocked: bool


async def resolve(
    connection: AsyncConnection,
    tenant_id: int,
    *,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None,
    now: datetime,
) -> ContactRoute:
    """The contact a message is from, made on its first message.

    Known by either identifier: a missing one is filled in when a message brings it (when no
    other contact has it), and WhatsApp's profile name is kept until a member edits the name.
    Two contacts that turn out to be one person (one known by wa_id, one by user id) are not
    merged here: the older one is answered.
    """
    match = _identified_by(wa_id, user_id)
    if match is None:
        raise ValueError("a contact needs a wa_id or a user_id")
    c = Contact.__table__.c
    for _ in range(2):  # a concurrent first message of the same contact: the second look finds it
        rows = (
            await connection.execute(
                select(c.id, c.wa_id, c.user_id, c.name, c.name_edited, c.is_blocked)
                .where(c.tenant_id == tenant_id, match)
                .order_by(c.id)
            )
        ).all()
        if rows:
            known = rows[0]
            changes: dict[str, Any] = {}
            if wa_id and known.wa_id is None and all(r.wa_id != wa_id for r in rows):
                changes["wa_id"] = wa_id
            if user_id and known.user_id is None and all(r.user_id != user_id for r in rows):
                changes["user_id"] = user_id
            if profile_name and not known.name_edited and known.name != profile_name:
                changes["name"] = profile_name
            if changes:
                await connection.execute(
                    update(Contact).where(c.id == known.id).values(**changes, updated_at=now)
                )
            return ContactRoute(known.id, known.is_blocked)
        inserted = await connection.execute(
            conflict_insert(connection.dialect.name, Contact)
            .values(
                tenant_id=tenant_id,
                wa_id=wa_id,
                user_id=user_id,
                name=profile_name,
                name_edited=False,
                is_blocked=False,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(c.id)
        )
        new_id = inserted.scalar()
        if new_id is not None:
            return ContactRoute(new_id, False)
    raise RuntimeError("the contact was neither found nor inserted")
