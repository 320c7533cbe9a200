"""`POST /webhooks/inbound`: the generic inbound of an `api` channel."""

import structlog
from fastapi import APIRouter

from app.auth.principal import PrincipalDep
from app.auth.roles import Permission
from app.core.db import SessionDep
from app.core.errors import Conflict, Forbidden, NotFound, UnreadableBody, answers, declared
from app.inbound import service
from app.inbound.schemas import InboundIn, InboundOut
from app.lifespan import MetricsDep, QueueDep, TracingDep
from app.messages.models import Direction, InboundStatus
from app.tenants import repository as tenants

router = APIRouter(prefix="/webhooks", tags=["inbound"], responses=answers(NotFound))


@router.post("/inbound", status_code=202, responses=declared(UnreadableBody, Conflict))
async def receive_inbound(
    body: InboundIn,
    principal: PrincipalDep,
    session: SessionDep,
    queue: QueueDep,
    tracing: TracingDep,
    metrics: MetricsDep,
) -> InboundOut:
    """A message for an `api` channel from the system it connects: 202 with the stored message
    and its conversation (continued, or opened for the bot). The channel's agent answers as on
    WhatsApp, and its reply is stored in the conversation (`sender: ai`, `status: delivered`: an
    api channel has no Graph API; read it from `GET /api/v1/conversations/{id}/messages`). The
    same `channel_message_id` again is the same message, answered once. A key of the tenant
    (`company_id`) with an agent's role or more; another tenant's key is a 404."""
    if not principal.may(Permission.CONVERSE):
        raise Forbidden(f"the role {principal.role} may not write messages")
    tenant_id = body.company_id
    if principal.tenant_id is not None and principal.tenant_id != tenant_id:
        raise NotFound(f"no company {tenant_id}")
    if principal.is_operator and await tenants.get(session, tenant_id) is None:
        raise NotFound(f"no company {tenant_id}")
    request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
    received, new = await service.receive(
        session, tenant_id, body, request_id, tracing.traceparent()
    )
    if new:
        metrics.message_status(Direction.INBOUND.value, InboundStatus.RECEIVED.value)
        await queue.submit(received.message.id, by="inbound")
    return received
