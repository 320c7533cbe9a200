"""Start-up: the env's number (WHATSAPP_PHONE_NUMBER_ID) is the default tenant's channel.

So a single-number setup keeps working from the env alone: the channel starts with the `http`
agent every channel starts with, the Server at SERVER_BASE_URL. When the number is already a channel
(in any tenant), only its token follows the env. Safe with several routers starting at once: both
writes are single statements on unique columns.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents.repository import add_default_agent
from app.channels import repository
from app.core.clock import utcnow
from app.core.db import conflict_insert
from app.settings import Settings
from app.tenants.models import DEFAULT_TENANT_NAME, Tenant


async def seed_default_channel(engine: AsyncEngine, settings: Settings) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            conflict_insert(engine.dialect.name, Tenant)
            .values(name=DEFAULT_TENANT_NAME, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        tenant_id = await connection.scalar(
            select(Tenant.id).where(Tenant.name == DEFAULT_TENANT_NAME)
        )
        assert tenant_id is not None
        made = await repository.upsert_number(
            connection,
            tenant_id,
            settings.whatsapp_phone_number_id,
            settings.whatsapp_access_token.get_secret_value(),
        )
        if made is not None:  # a new channel starts with the Server as its agent
            await add_default_agent(connection, tenant_id, made)
