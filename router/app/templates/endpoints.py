"""`GET /api/v1/templates?channel_id=`: the number's approved templates (every role reads)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.principal import ReadScope
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UpstreamFailed, answers, declared
from app.core.ids import MAX_ID
from app.lifespan import TemplatesDep
from app.templates import service
from app.templates.schemas import TemplateList, TemplateOut

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], responses=answers(NotFound))


@router.get("", responses=declared(Conflict, UpstreamFailed))
async def list_templates(
    scope: ReadScope,
    session: SessionDep,
    catalog: TemplatesDep,
    channel_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    refresh: bool = False,
) -> TemplateList:
    """The channel's approved templates, from its WhatsApp Business Account on the Graph API;
    kept for a while by this process (`refresh=true` asks the Graph API again). 409 while the
    channel's WABA id is not known; 422 for an api channel or a token the Graph API refuses."""
    channel = await service.number_of(session, scope.tenant_id, channel_id)
    listing, cached = await catalog.approved(channel, refresh)
    return TemplateList(
        channel_id=channel.id,
        waba_id=listing.waba_id,
        fetched_at=listing.fetched_at,
        cached=cached,
        items=[TemplateOut.model_validate(t) for t in listing.templates],
    )
