"""`/api/v1/ignore-rules`: messages no agent answers (admins write, every role reads)."""

from fastapi import APIRouter, Response

from app.auth.principal import ChannelsScope, ReadScope
from app.core.db import SessionDep
from app.core.errors import NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.core.pagination import DEFAULT_LIMIT, IdCursor, LimitQuery, Page
from app.ignore_rules import service
from app.ignore_rules.schemas import IgnoreRuleIn, IgnoreRuleOut
from app.lifespan import IgnoreRulesDep

# The message path keeps each tenant's rules in memory: a write here is seen at once.

router = APIRouter(
    prefix="/api/v1/ignore-rules", tags=["ignore rules"], responses=answers(NotFound)
)


@router.get("")
async def list_ignore_rules(
    scope: ReadScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: IdCursor | None = None,
) -> Page[IgnoreRuleOut]:
    """The tenant's ignore rules, oldest first."""
    items, next_ = await service.page(session, scope.tenant_id, cursor, limit)
    return Page(items=items, next=next_)


@router.post("", status_code=201, responses=declared(UnreadableBody))
async def create_ignore_rule(
    body: IgnoreRuleIn, scope: ChannelsScope, session: SessionDep, directory: IgnoreRulesDep
) -> IgnoreRuleOut:
    """Keep matching inbound messages as `ignored` (with this rule's id), answered by no agent.

    404 when channel_id is not one of the tenant's channels."""
    rule = await service.create(session, scope.tenant_id, body)
    directory.forget()
    return IgnoreRuleOut.model_validate(rule)


@router.delete("/{rule_id}", status_code=204)
async def delete_ignore_rule(
    rule_id: IdPath, scope: ChannelsScope, session: SessionDep, directory: IgnoreRulesDep
) -> Response:
    """Delete a rule: messages it kept stay `ignored`, with its id."""
    await service.delete(session, scope.tenant_id, rule_id)
    directory.forget()
    return Response(status_code=204)
