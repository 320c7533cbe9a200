"""`/api/v1/conversations`: read them (every role); hand them over, close and reopen them
(agents and up)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from app.auth.principal import ConverseScope, ReadScope
from app.conversations import service
from app.conversations.models import ConversationStatus
from app.conversations.repository import Filters
from app.conversations.schemas import (
    ConversationListItem,
    ConversationOut,
    ReadMark,
    Switched,
    TransferIn,
)
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import MAX_ID, IdPath, IdQuery
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page, TimeIdCursor
from app.messages.schemas import ConversationMessage

router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], responses=answers(NotFound)
)

OwnerQuery = Annotated[
    Literal["ai", "agent"] | Annotated[int, Field(ge=1, le=MAX_ID)] | None,
    Query(description="`ai` (the bot), `agent` (any member) or a member's id"),
]


@router.get("")
async def list_conversations(
    scope: ReadScope,
    session: SessionDep,
    status: ConversationStatus | None = None,
    owner: OwnerQuery = None,
    channel_id: IdQuery = None,
    contact_id: IdQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: TimeIdCursor | None = None,
) -> Page[ConversationListItem]:
    """The tenant's conversations, newest activity first, each with its newest message and the
    caller's unread count."""
    filters = Filters(status, owner, channel_id, contact_id)
    items, next_ = await service.page(session, scope, filters, cursor, limit)
    return Page(items=items, next=next_)


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: IdPath, scope: ReadScope, session: SessionDep
) -> ConversationOut:
    """One conversation: its channel, contact, owner, status and 24-hour window."""
    return await service.detail(session, scope, conversation_id)


@router.get("/{conversation_id}/messages")
async def list_conversation_messages(
    conversation_id: IdPath,
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[ConversationMessage]:
    """Every message of the conversation, oldest first, whoever wrote it."""
    items, next_ = await service.messages_page(session, scope, conversation_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("/{conversation_id}/read", responses=declared(Conflict))
async def read_conversation(
    conversation_id: IdPath, scope: ReadScope, session: SessionDep
) -> ReadMark:
    """Mark the conversation read, up to its newest message, for the member the caller acts as
    (409 for a key acting as no member): its `unread_count` in the list starts again from 0."""
    return await service.mark_read(session, scope, conversation_id)


@router.post("/{conversation_id}/transfer", responses=declared(UnreadableBody, Conflict))
async def transfer_conversation(
    conversation_id: IdPath, body: TransferIn, scope: ConverseScope, session: SessionDep
) -> ConversationOut:
    """Hand the conversation to a member of the tenant, or (`null`) back to the bot."""
    return await service.transfer(session, scope, conversation_id, body.new_owner_id)


@router.post("/{conversation_id}/transfer-toggle")
async def toggle_conversation(
    conversation_id: IdPath, scope: ConverseScope, session: SessionDep
) -> Switched:
    """Bot to human or human to bot. The human is the member the caller acts as, else the
    tenant's first agent (made when the tenant has none)."""
    return await service.toggle(session, scope, conversation_id)


@router.post("/{conversation_id}/close")
async def close_conversation(
    conversation_id: IdPath, scope: ConverseScope, session: SessionDep
) -> ConversationOut:
    """Close: the contact's next message opens a new conversation."""
    return await service.set_status(session, scope, conversation_id, ConversationStatus.CLOSED)


@router.post("/{conversation_id}/reopen", responses=declared(Conflict))
async def reopen_conversation(
    conversation_id: IdPath, scope: ConverseScope, session: SessionDep
) -> ConversationOut:
    """Reopen; 409 when the contact already has another open conversation on the channel."""
    return await service.set_status(session, scope, conversation_id, ConversationStatus.OPEN)
