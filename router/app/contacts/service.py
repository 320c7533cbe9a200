"""Contacts: the tenant's customers, edited and blocked by members."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import repository
from app.contacts.models import Contact
from app.contacts.schemas import ContactIn, ContactOut, ContactPatch
from app.core.db import commit_or_conflict
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of
from app.events import service as events
from app.events.repository import Change
from app.events.schemas import EventType

TAKEN = "a contact of this tenant already has this wa_id or user_id"


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    channel_id: int | None,
    q: str | None,
    blocked: bool | None,
    before_id: int | None,
    limit: int,
) -> tuple[list[ContactOut], str | None]:
    rows = await repository.page(
        session,
        tenant_id,
        channel_id=channel_id,
        q=q,
        blocked=blocked,
        before_id=before_id,
        limit=limit + 1,
    )
    items, cursor = page_of(rows, limit, lambda c: c.id)
    return [ContactOut.model_validate(c) for c in items], cursor


async def get(session: AsyncSession, tenant_id: int, contact_id: int) -> Contact:
    contact = await repository.get(session, tenant_id, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return contact


async def create(session: AsyncSession, tenant_id: int, body: ContactIn) -> Contact:
    if await repository.taken(session, tenant_id, body.wa_id, body.user_id):
        raise Conflict(TAKEN)
    contact = Contact(
        tenant_id=tenant_id,
        wa_id=body.wa_id,
        user_id=body.user_id,
        name=body.name,
        name_edited=body.name is not None,
        email=body.email,
        description=body.description,
        is_blocked=False,
    )
    session.add(contact)
    await commit_or_conflict(session, TAKEN)
    return contact


async def update(
    session: AsyncSession, tenant_id: int, contact_id: int, body: ContactPatch
) -> Contact:
    contact = await get(session, tenant_id, contact_id)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        # A name of the member's own sticks; null gives the name back to WhatsApp's profile.
        changes["name_edited"] = changes["name"] is not None
    for field, value in changes.items():
        setattr(contact, field, value)
    await events.record(session, _updated(contact))
    await session.commit()
    return contact


async def set_blocked(
    session: AsyncSession, tenant_id: int, contact_id: int, blocked: bool
) -> Contact:
    """A blocked contact's messages are stored and never answered; nothing is sent to them."""
    contact = await get(session, tenant_id, contact_id)
    contact.is_blocked = blocked
    await events.record(session, _updated(contact))
    await session.commit()
    return contact


def _updated(contact: Contact) -> Change:
    return Change(contact.tenant_id, EventType.CONTACT_UPDATED, contact.id)
