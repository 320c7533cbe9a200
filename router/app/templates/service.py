from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import service as channels
from app.channels.models import ChannelType
from app.core.errors import Conflict, Unprocessable
from app.templates.catalog import ChannelNumber


async def number_of(session: AsyncSession, tenant_id: int, channel_id: int) -> ChannelNumber:
    """The channel as the catalog needs it: a WhatsApp number whose WABA is known."""
    channel = await channels.get(session, tenant_id, channel_id)
    if channel.type != ChannelType.WHATSAPP.value or channel.phone_number_id is None:
        raise Unprocessable(
            f"channel_id: channel {channel.id} is an api channel: it has no WhatsApp templates"
        )
    if channel.waba_id is None:
        raise Conflict(
            f"channel {channel.id}'s WhatsApp Business Account is not known yet: set its waba_id "
            f"(PATCH /api/v1/channels/{channel.id}) or wait for its first webhook, which names it"
        )
    return ChannelNumber(channel.id, channel.phone_number_id, channel.waba_id, channel.access_token)
