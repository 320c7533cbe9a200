"""The questions the seed asks that no domain's repository answers."""

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.channels.models import Channel, ChannelType
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.messages.models import Message


async def wamid_known(session: AsyncSession, wamid: str) -> bool:
    return bool(await session.scalar(select(exists().where(Message.wamid == wamid))))


async def api_channel(session: AsyncSession, tenant_id: int, name: str) -> Channel | None:
    """The tenant's `api` channel of this name, if it has one."""
    found: Channel | None = await session.scalar(
        select(Channel)
        .where(
            Channel.tenant_id == tenant_id,
            Channel.type == ChannelType.API.value,
            Channel.name == name,
        )
        .order_by(Channel.id)
        .limit(1)
    )
    return found


async def talks_on(session: AsyncSession, tenant_id: int, channel_id: int, wa_id: str) -> bool:
    """Whether the contact of this wa_id has a conversation on the channel already."""
    found = (
        exists()
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.channel_id == channel_id,
            Conversation.contact_id == Contact.id,
        )
        .where(Contact.tenant_id == tenant_id, Contact.wa_id == wa_id)
    )
    return bool(await session.scalar(select(found)))


async def active_keys(
    session: AsyncSession, tenant_id: int, name: str, member_id: int
) -> list[ApiKey]:
    """The tenant's keys of this name acting as this member that are not revoked."""
    found = await session.scalars(
        select(ApiKey).where(
            ApiKey.tenant_id == tenant_id,
            ApiKey.name == name,
            ApiKey.member_id == member_id,
            ApiKey.revoked_at.is_(None),
        )
    )
    return list(found.all())
