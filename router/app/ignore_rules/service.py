from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.pagination import page_of
from app.ignore_rules import repository
from app.ignore_rules.models import IgnoreRule, RuleType
from app.ignore_rules.schemas import IgnoreRuleIn, IgnoreRuleOut


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> tuple[list[IgnoreRuleOut], str | None]:
    rows = await repository.page(session, tenant_id, after_id, limit + 1)
    items, cursor = page_of(rows, limit, lambda r: r.id)
    return [IgnoreRuleOut.model_validate(r) for r in items], cursor


async def create(session: AsyncSession, tenant_id: int, body: IgnoreRuleIn) -> IgnoreRule:
    if body.channel_id is not None and not await repository.channel_is_tenants(
        session, tenant_id, body.channel_id
    ):
        raise NotFound(f"no channel {body.channel_id}")
    value = body.value.lower() if body.rule_type is RuleType.MESSAGE_TYPE else body.value
    rule = IgnoreRule(
        tenant_id=tenant_id, rule_type=body.rule_type.value, value=value, channel_id=body.channel_id
    )
    session.add(rule)
    await session.commit()
    return rule


async def delete(session: AsyncSession, tenant_id: int, rule_id: int) -> None:
    rule = await repository.get(session, tenant_id, rule_id)
    if rule is None:
        raise NotFound(f"no ignore rule {rule_id}")
    await session.delete(rule)
    await session.commit()
