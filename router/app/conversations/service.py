"""Conversations: read, handed between the bot and members, closed and reopened."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role, can_own_conversations
from app.auth.scope import Scope
from app.conversations import repository
from app.conversations.models import DEFAULT_AGENT_NAME, Conversation, ConversationStatus
from app.conversations.repository import ConversationRow, Filters
from app.conversations.schemas import (
    ConversationItem,
    ConversationListItem,
    ConversationOut,
    ReadMark,
    Switched,
)
from app.core.db import commit_or_conflict
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of
from app.events import service as events
from app.events.repository import Change
from app.events.schemas import EventType
from app.members import repository as members
from app.members.models import Member
from app.messages import repository as messages
from app.messages.schemas import ConversationMessage
from app.tenants import repository as tenants


async def page(
    session: AsyncSession,
    scope: Scope,
    filters: Filters,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[list[ConversationListItem], str | None]:
    """A page of the list, each with its newest message and the caller's unread count."""
    tenant_id, member_id = scope.tenant_id, scope.principal.member_id
    rows = await repository.page(session, tenant_id, filters, after, limit + 1, scope.channel_ids)
    items, cursor = page_of(
        rows, limit, lambda r: (r.conversation.last_message_at, r.conversation.id)
    )
    ids = [r.conversation.id for r in items]
    newest = await messages.newest_of_conversations(session, tenant_id, ids)
    unread = (
        await messages.unread_counts(session, tenant_id, member_id, ids)
        if member_id is not None
        else None
    )
    listed = []
    for row in items:
        last = newest.get(row.conversation.id)
        listed.append(
            ConversationListItem(
                **dict(ConversationItem.of(row)),
                last_message=ConversationMessage.of(last, row.contact) if last else None,
                unread_count=None if unread is None else unread.get(row.conversation.id, 0),
            )
        )
    return listed, cursor


async def get(session: AsyncSession, scope: Scope, conversation_id: int) -> ConversationRow:
    """The conversation, when the caller sees it (its tenant's, on a number the caller sees);
    404 otherwise, as for one that does not exist."""
    row = await repository.get(session, scope.tenant_id, conversation_id, scope.channel_ids)
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return row


async def detail(session: AsyncSession, scope: Scope, conversation_id: int) -> ConversationOut:
    row = await get(session, scope, conversation_id)
    channel = await repository.channel_of(session, row.conversation)
    return ConversationOut.with_channel(row, channel)


async def messages_page(
    session: AsyncSession, scope: Scope, conversation_id: int, after_id: int | None, limit: int
) -> tuple[list[ConversationMessage], str | None]:
    row = await get(session, scope, conversation_id)
    found = await messages.page_of_conversation(
        session, scope.tenant_id, conversation_id, after_id, limit + 1
    )
    items, cursor = page_of(found, limit, lambda m: m.message.id)
    return [ConversationMessage.of(m, row.contact) for m in items], cursor


async def transfer(
    session: AsyncSession, scope: Scope, conversation_id: int, new_owner_id: int | None
) -> ConversationOut:
    """To a member of the tenant, or (None) back to the bot, which answers the next message."""
    conversation = (await get(session, scope, conversation_id)).conversation
    owner = None
    if new_owner_id is not None:
        owner = await members.get(session, scope.tenant_id, new_owner_id)
        if owner is None:
            raise NotFound(f"no member {new_owner_id}")
        if not can_own_conversations(Role(owner.role)):
            raise Conflict(
                f"new_owner_id: member {owner.id} is a {owner.role} and cannot own conversations"
            )
    await _set_owner(session, conversation, owner)
    return await detail(session, scope, conversation_id)


async def toggle(session: AsyncSession, scope: Scope, conversation_id: int) -> Switched:
    """Bot -> human -> bot. The human is the member the caller acts as, else the tenant's first
    agent, made when the tenant has none yet."""
    conversation = (await get(session, scope, conversation_id)).conversation
    if conversation.owner_member_id is not None:
        await _set_owner(session, conversation, None)
        return Switched(detail="switched ownership to ai")
    await _set_owner(session, conversation, await _human_for(session, scope))
    return Switched(detail="switched ownership to human")


async def mark_read(session: AsyncSession, scope: Scope, conversation_id: int) -> ReadMark:
    """The caller's member has read the conversation up to its newest message."""
    conversation = (await get(session, scope, conversation_id)).conversation
    member_id = scope.principal.member_id
    if member_id is None:
        raise Conflict("this key acts as no member: a read mark is a member's")
    upto = await repository.mark_read(session, conversation, member_id)
    return ReadMark(conversation_id=conversation.id, member_id=member_id, last_read_message_id=upto)


async def set_status(
    session: AsyncSession, scope: Scope, conversation_id: int, status: ConversationStatus
) -> ConversationOut:
    conversation = (await get(session, scope, conversation_id)).conversation
    if conversation.status != status.value:
        if status is ConversationStatus.OPEN and await repository.has_other_open(
            session, conversation
        ):
            raise Conflict(_another_open(conversation))
        conflict = _another_open(conversation)  # read before a rollback expires it
        conversation.status = status.value
        try:
            await session.flush()
        except IntegrityError:  # another open conversation of the contact won meanwhile
            await session.rollback()
            raise Conflict(conflict) from None
        await events.record(session, _updated(conversation))
        await commit_or_conflict(session, conflict)
    return await detail(session, scope, conversation_id)


def _another_open(conversation: Conversation) -> str:
    return (
        f"conversation {conversation.id} cannot be reopened: the contact has another open "
        f"conversation on this channel"
    )


async def _set_owner(
    session: AsyncSession, conversation: Conversation, owner: Member | None
) -> None:
    conversation.owner_member_id = owner.id if owner else None
    await events.record(session, _updated(conversation))
    await session.commit()


def _updated(conversation: Conversation) -> Change:
    return Change(conversation.tenant_id, EventType.CONVERSATION_UPDATED, conversation.id)


async def _human_for(session: AsyncSession, scope: Scope) -> Member:
    member_id = scope.principal.member_id
    if member_id is not None:
        acting = await members.get(session, scope.tenant_id, member_id)
        if acting is not None and can_own_conversations(Role(acting.role)):
            return acting
    await tenants.lock(session, scope.tenant_id)  # one tenant, one agent made
    agent = await members.first_with_role(session, scope.tenant_id, Role.AGENT)
    if agent is None:
        agent = Member(tenant_id=scope.tenant_id, name=DEFAULT_AGENT_NAME, role=Role.AGENT.value)
        session.add(agent)
        await session.flush()
    return agent
