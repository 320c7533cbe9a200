from dataclasses import dataclass

from sqlalchemy import BigInteger, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.members.models import Member
from app.store.models import Message


@dataclass(frozen=True, slots=True)
class Row:
    message: Message
    author: Member | None


async def page_of_conversation(
    session: AsyncSession,
    tenant_id: int,
    conversation_id: int,
    after_id: int | None,
    limit: int,
) -> list[Row]:
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
    return [Row(*found) for found in (await session.execute(query)).all()]
