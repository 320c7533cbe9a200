"""`POST /api/v1/conversations/{id}/messages`: a member writes to the contact."""

import structlog
from fastapi import APIRouter

from app.auth.principal import ConverseScope
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, UnreadableBody, answers, declared
from app.core.ids import IdPath
from app.lifespan import MetricsDep, QueueDep, TracingDep
from app.messages import service
from app.messages.models import Direction, OutboundStatus
from app.messages.schemas import ConversationMessage, MessageIn

router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], responses=answers(NotFound)
)


@router.post(
    "/{conversation_id}/messages", status_code=202, responses=declared(UnreadableBody, Conflict)
)
async def write_message(
    conversation_id: IdPath,
    body: MessageIn,
    scope: ConverseScope,
    session: SessionDep,
    queue: QueueDep,
    tracing: TracingDep,
    metrics: MetricsDep,
) -> ConversationMessage:
    """Write to the conversation's contact: 202 with the message, stored and then sent by a job
    of its own (its status moves as the Graph API and Meta's status webhooks report). A
    conversation the bot owns becomes the author's. 409 when the contact is blocked, the
    conversation closed, or WhatsApp's 24-hour window has closed (a template is needed then)."""
    request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
    written = await service.write(
        session, scope, conversation_id, body, request_id, tracing.traceparent()
    )
    metrics.message_status(Direction.OUTBOUND.value, OutboundStatus.PENDING.value)
    await queue.submit(written.id, by="message")
    return written
