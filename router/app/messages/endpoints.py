"""`POST /api/v1/conversations/{id}/messages`: a member writes to the contact (a text, a template,
or a file: JSON, or a multipart form with `file`)."""

import structlog
from fastapi import APIRouter, Request

from app.auth.principal import ConverseScope
from app.core.db import SessionDep
from app.core.errors import (
    BodyTooLarge,
    Conflict,
    FileTooLarge,
    NotFound,
    Unprocessable,
    UnreadableBody,
    UnsupportedBody,
    answers,
)
from app.core.ids import IdPath
from app.lifespan import MediaStoreDep, MetricsDep, QueueDep, TracingDep
from app.media.blobs import delete_quietly
from app.media.uploads import MAX_UPLOAD_BODY, openapi_body, read_body, store_file
from app.messages import service
from app.messages.models import Direction, OutboundStatus
from app.messages.schemas import MESSAGE_FORM, ConversationMessage, MessageFileForm, MessageIn

router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], responses=answers(NotFound)
)


@router.post(
    "/{conversation_id}/messages",
    status_code=202,
    responses=answers(
        UnreadableBody, Conflict, FileTooLarge, BodyTooLarge, UnsupportedBody, Unprocessable
    ),
    openapi_extra=openapi_body("MessageIn", MESSAGE_FORM),
    max_body_size=MAX_UPLOAD_BODY,
)
async def write_message(
    conversation_id: IdPath,
    request: Request,
    scope: ConverseScope,
    session: SessionDep,
    queue: QueueDep,
    tracing: TracingDep,
    metrics: MetricsDep,
    store: MediaStoreDep,
) -> ConversationMessage:
    """Write to the conversation's contact: 202 with the message, stored and then sent by a job
    of its own (its status moves as the Graph API and Meta's status webhooks report). A
    conversation the bot owns becomes the author's. 409 when the contact is blocked, the
    conversation closed, or WhatsApp's 24-hour window has closed (a template is needed then).
    A file: a multipart form with `file` (and `caption`, `author_id`), stored, then uploaded and
    sent by the job; a type WhatsApp does not send is a 422, one over its kind's limit a 413."""
    request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
    body = await read_body(request, MessageIn, MessageFileForm, store)
    if isinstance(body, MessageIn):
        written = await service.write(
            session, scope, conversation_id, body, request_id, tracing.traceparent()
        )
    else:
        form, received = body
        attachment = await store_file(store, received, scope.tenant_id, form.caption)
        try:
            written = await service.write(
                session,
                scope,
                conversation_id,
                MessageIn.model_construct(author_id=form.author_id),
                request_id,
                tracing.traceparent(),
                attachment,
            )
        except BaseException:
            await delete_quietly(store, [attachment["key"]])
            raise
    metrics.message_status(Direction.OUTBOUND.value, OutboundStatus.PENDING.value)
    await queue.submit(written.id, by="message")
    return written
