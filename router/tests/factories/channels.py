from app.channels.models import Channel, ChannelType

from .store import Sessions, add

TOKEN = "channel-token"


async def channel(
    sessions: Sessions,
    tenant_id: int,
    phone_number_id: str = "100200300",
    *,
    name: str = "Sales",
    token: str = TOKEN,
) -> Channel:
    return await add(
        sessions,
        Channel(
            tenant_id=tenant_id,
            type=ChannelType.WHATSAPP.value,
            name=name,
            phone_number_id=phone_number_id,
            display_phone_number="+1 555 0100",
            access_token=token,
        ),
    )
