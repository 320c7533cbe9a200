from app.agents.models import DEFAULT_AGENT_NAME, DEFAULT_PRIORITY, Agent, AgentChannel, AgentType
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
    server_agent: bool = True,
) -> Channel:
    """A WhatsApp channel; with `server_agent`, the `http` agent every channel starts with."""
    made = await add(
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
    if server_agent:
        await first_agent(sessions, tenant_id, made.id)
    return made


async def first_agent(sessions: Sessions, tenant_id: int, channel_id: int) -> Agent:
    """The `http` agent every channel starts with: the Server at SERVER_BASE_URL."""
    agent = await add(
        sessions,
        Agent(
            tenant_id=tenant_id,
            name=DEFAULT_AGENT_NAME,
            agent_type=AgentType.HTTP.value,
            config={},
            priority=DEFAULT_PRIORITY,
        ),
    )
    await add(sessions, AgentChannel(agent_id=agent.id, channel_id=channel_id))
    return agent
