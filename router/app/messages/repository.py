from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import ConversationRead
from app.core.db import chunked
from app.members.models import Member
from app.messages.models import Direction, Message


@dataclass(frozen=True, slots=True)
class AuthoredMessage:
    message: Message
    author: Member | None


async def page_of_conversation(
    session: AsyncSession,
    tenant_id: int,
    conversation_id: int,
    after_id: int | None,
    limit: int,
) -> list[AuthoredMessage]:
    """Oldest first."""
    query = (
        select(Message, Member)
        .outerjoin(Member, Member.id == Message.author_member_id)
        .where(Message.tenant_id == tenant_id, Message.conversation_id == conversation_id)
        .order_by(Message.id)
        .limit(limit)
    )
    if after_id is not None:
        # Bound as BIGINT: `messages.id` is an INTEGER (32-bit on PostgreSQL), a cursor any id.
        query = query.where(Message.id > literal(after_id, BigInteger()))
    return [AuthoredMessage(*found) for found in (await session.execute(query)).all()]


async def newest_of_conversations(
    session: AsyncSession, tenant_id: int, conversation_ids: Sequence[int]
) -> dict[int, AuthoredMessage]:
    """Each conversation's newest message (by id), by conversation id; none for one without."""
    found: dict[int, AuthoredMessage] = {}
    for some in chunked(sorted(set(conversation_ids))):
        newest = (
            select(func.max(Message.id))
            .where(Message.tenant_id == tenant_id, Message.conversation_id.in_(some))
            .group_by(Message.conversation_id)
        )
        query = (
            select(Message, Member)
            .outerjoin(Member, Member.id == Message.author_member_id)
            .where(Message.id.in_(newest))
        )
        for message, author in (await session.execute(query)).all():
            assert message.conversation_id is not None
            found[message.conversation_id] = AuthoredMessage(message, author)
    return found


async def unread_counts(
    session: AsyncSession, tenant_id: int, member_id: int, conversation_ids: Sequence[int]
) -> dict[int, int]:
    """The contact's messages in each conversation after the member's read mark (all of them
    when the member never read it), by conversation id; none for a conversation with none."""
    counts: dict[int, int] = {}
    mark = ConversationRead
    for some in chunked(sorted(set(conversation_ids))):
        query = (
            select(Message.conversation_id, func.count())
            .select_from(Message)
            .outerjoin(
                mark,
                and_(mark.conversation_id == Message.conversation_id, mark.member_id == member_id),
            )
            .where(
                Message.tenant_id == tenant_id,
                Message.conversation_id.in_(some),
                Message.direction == Direction.INBOUND.value,
                Message.id > func.coalesce(mark.last_read_message_id, 0),
            )
            .group_by(Message.conversation_id)
        )
        for conversation_id, count in (await session.execute(query)).all():
            if conversation_id is not None:  # the IN above: never None
                counts[conversation_id] = count
    return counts
