"""`/api/v1/contacts`: the tenant's customers (admins write, every role reads)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.principal import ContactsScope, ReadScope
from app.contacts import service
from app.contacts.schemas import ContactIn, ContactOut, ContactPatch
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import MAX_ID, IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.core.schemas import NO_NUL

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"], responses=answers(NotFound))


@router.get("")
async def list_contacts(
    scope: ReadScope,
    session: SessionDep,
    channel_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="with a conversation here")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="in name, wa_id or user_id")
    ] = None,
    blocked: bool | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[ContactOut]:
    """The tenant's contacts, newest first."""
    items, next_ = await service.page(
        session,
        scope.tenant_id,
        channel_id=channel_id,
        q=q,
        blocked=blocked,
        before_id=cursor,
        limit=limit,
    )
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody, Conflict))
async def create_contact(body: ContactIn, scope: ContactsScope, session: SessionDep) -> ContactOut:
    """Add a contact by wa_id (phone number) and/or user_id (business-scoped user id)."""
    return ContactOut.model_validate(await service.create(session, scope.tenant_id, body))


@router.get("/{contact_id}")
async def get_contact(contact_id: IdPath, scope: ReadScope, session: SessionDep) -> ContactOut:
    """One contact."""
    return ContactOut.model_validate(await service.get(session, scope.tenant_id, contact_id))


@router.patch("/{contact_id}", responses=declared(UnreadableBody))
async def update_contact(
    contact_id: IdPath, body: ContactPatch, scope: ContactsScope, session: SessionDep
) -> ContactOut:
    """Edit the name (WhatsApp's profile name no longer overwrites it), email, description or
    `is_blocked`."""
    contact = await service.update(session, scope.tenant_id, contact_id, body)
    return ContactOut.model_validate(contact)


@router.post("/{contact_id}/block")
async def block_contact(
    contact_id: IdPath, scope: ContactsScope, session: SessionDep
) -> ContactOut:
    """Block: the contact's messages are stored, never answered, and nothing is sent to them."""
    contact = await service.set_blocked(session, scope.tenant_id, contact_id, True)
    return ContactOut.model_validate(contact)


@router.delete("/{contact_id}/block")
async def unblock_contact(
    contact_id: IdPath, scope: ContactsScope, session: SessionDep
) -> ContactOut:
    """Unblock."""
    contact = await service.set_blocked(session, scope.tenant_id, contact_id, False)
    return ContactOut.model_validate(contact)
