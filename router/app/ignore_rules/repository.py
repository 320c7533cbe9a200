from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.channels.models import Channel
from app.ignore_rules.models import IgnoreRule


async def get(session: AsyncSession, tenant_id: int, rule_id: int) -> IgnoreRule | None:
    rule: IgnoreRule | None = await session.scalar(
        select(IgnoreRule).where(IgnoreRule.tenant_id == tenant_id, IgnoreRule.id == rule_id)
    )
    return rule


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> list[IgnoreRule]:
    query = (
        select(IgnoreRule)
        .where(IgnoreRule.tenant_id == tenant_id)
        .order_by(IgnoreRule.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(IgnoreRule.id > after_id)
    return list((await session.scalars(query)).all())


async def channel_is_tenants(session: AsyncSession, tenant_id: int, channel_id: int) -> bool:
    found = await session.scalar(
        select(Channel.id).where(Channel.tenant_id == tenant_id, Channel.id == channel_id)
    )
    return found is not None


_r = IgnoreRule.__table__.c
_OF_TENANT = (
    select(_r.id, _r.rule_type, _r.value, _r.channel_id)
    .where(_r.tenant_id == bindparam("b_tenant"))
    .order_by(_r.id)
)


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    rule_type: str
    value: str
    channel_id: int | None


async def rules_of_tenant(connection: AsyncConnection, tenant_id: int) -> list[RuleRow]:
    """Every rule of the tenant, by id (the message path's read)."""
    rows = await connection.execute(_OF_TENANT, {"b_tenant": tenant_id})
    return [RuleRow(*row) for row in rows.all()]
