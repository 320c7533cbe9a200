"""Start-up: the env's number is the default tenant's channel, so a single-number setup keeps
working from the env alone."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.models import Channel
from app.channels.seed import seed_default_channel
from app.core.clock import utcnow
from app.tenants.models import Tenant

from ..backends import migrated_store
from ..conftest import ACCESS_TOKEN, make_settings
from ..meta import PHONE_NUMBER_ID


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        yield engine


async def channels_and_tenants(engine: AsyncEngine) -> tuple[list[tuple[Any, ...]], list[str]]:
    async with engine.connect() as connection:
        channels = (
            await connection.execute(
                select(Channel.phone_number_id, Channel.access_token, Tenant.name).join(
                    Tenant, Tenant.id == Channel.tenant_id
                )
            )
        ).all()
        tenants = (await connection.scalars(select(Tenant.name))).all()
    return [tuple(c) for c in channels], list(tenants)


async def test_the_envs_number_is_the_default_tenants_channel(engine: AsyncEngine) -> None:
    await seed_default_channel(engine, make_settings())
    first = await channels_and_tenants(engine)
    await seed_default_channel(engine, make_settings(whatsapp_access_token="rotated"))

    assert first == ([(PHONE_NUMBER_ID, ACCESS_TOKEN, "default")], ["default"])
    assert await channels_and_tenants(engine) == (
        [(PHONE_NUMBER_ID, "rotated", "default")],
        ["default"],
    )


async def test_routers_starting_together_make_one_channel(engine: AsyncEngine) -> None:
    settings = make_settings()

    await asyncio.gather(*(seed_default_channel(engine, settings) for _ in range(8)))

    assert await channels_and_tenants(engine) == (
        [(PHONE_NUMBER_ID, ACCESS_TOKEN, "default")],
        ["default"],
    )


async def test_a_number_an_operator_moved_to_a_tenant_stays_there(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        tenant_id = await connection.scalar(
            insert(Tenant).values(name="Acme", created_at=utcnow()).returning(Tenant.id)
        )
        await connection.execute(
            insert(Channel).values(
                tenant_id=tenant_id,
                type="whatsapp",
                name="Sales",
                phone_number_id=PHONE_NUMBER_ID,
                access_token="old",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )

    await seed_default_channel(engine, make_settings())

    channels, _ = await channels_and_tenants(engine)
    assert channels == [(PHONE_NUMBER_ID, ACCESS_TOKEN, "Acme")]
