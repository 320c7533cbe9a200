"""`/api/v1/messages`: every message's life, and the dead letters' replay.

The operator's key (ROUTER_ADMIN_API_KEY) sees every message; a tenant's key (`wr_live_...`) sees
its tenant's only, and replays them with an agent's role or more.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import APIKeyHeader
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from app.auth import keys
from app.auth.operator import is_operator, require_admin
from app.auth.principal import ConverseScope, principal_of_key
from app.auth.roles import GRANTS, Permission, Role
from app.core.db import SessionDep
from app.core.errors import (
    BodyTooLarge,
    Conflict,
    FileTooLarge,
    Forbidden,
    NotConfigured,
    NotFound,
    Unauthorized,
    Unprocessable,
    UnreadableBody,
    UnsupportedBody,
    answers,
    declared,
)
from app.core.pagination import IdCursor, Page
from app.lifespan import (
    MediaStoreDep,
    MetricsDep,
    QueueDep,
    RepositoryDep,
    SettingsDep,
    TracingDep,
)
from app.media.blobs import delete_quietly
from app.media.schemas import LocationOut, MediaOut, SharedContact
from app.media.uploads import MAX_UPLOAD_BODY, openapi_body, read_body, store_file
from app.messages import service
from app.messages.models import Direction, OutboundStatus
from app.messages.schemas import (
    SEND_FORM,
    SendFileForm,
    SendIn,
    attachment_fields,
    stored_template,
)

_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="the operator's key or a tenant's key"
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose messages a request sees: one tenant's, or (None) every tenant's."""

    tenant_id: int | None
    role: Role | None  # None: the operator
    channel_ids: frozenset[int] | None = None  # the numbers it sees; None: all

    def may(self, permission: Permission) -> bool:
        return self.role is None or permission in GRANTS[self.role]


async def viewer(
    settings: SettingsDep,
    session: SessionDep,
    api_key: Annotated[str | None, Depends(_api_key)] = None,
) -> Viewer:
    if (
        not is_operator(settings, api_key)
        and api_key is not None
        and keys.parse(api_key) is not None
    ):
        principal = await principal_of_key(session, api_key)
        return Viewer(principal.tenant_id, principal.role, principal.channel_ids)
    await require_admin(settings, api_key)  # the operator's key, as before tenants existed
    return Viewer(None, None)


ViewerDep = Annotated[Viewer, Depends(viewer)]

router = APIRouter(
    prefix="/api/v1/messages",
    tags=["messages"],
    responses=declared(Unauthorized, NotConfigured),
)

# The API's ids are int64 whatever the store: an id beyond that is a 422, one within it that no row
# has (even one the store's column could never hold) a 404.
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BeforeId = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, deprecated=True, description="deprecated: `cursor`")
]

# Every status of either direction (app.messages.models; a test holds them equal).
MessageStatus = Literal[
    "received",
    "processing",
    "replied",
    "ignored",
    "failed",
    "blocked",
    "handed_over",
    "unrouted",
    "in_turn",
    "unanswered",
    "pending",
    "accepted",
    "sent",
    "delivered",
    "read",
]


def _as_utc(value: datetime) -> datetime:
    # The store keeps naive UTC; the API says which zone it is.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    wamid: str | None
    phone_number_id: str
    contact: str
    wa_id: str | None
    user_id: str | None
    type: str
    text: str | None
    template: Annotated[dict[str, Any] | None, BeforeValidator(stored_template)] = Field(
        description="a template message's `name`, `language` and `components`; null otherwise"
    )
    status: str
    error_code: int | None
    error_title: str | None
    attempts: int
    reply_to_id: int | None
    part: int | None
    tenant_id: int | None  # null: to a number no channel has (unrouted)
    channel_id: int | None
    conversation_id: int | None
    contact_id: int | None
    sender: str | None  # contact, ai or agent
    author_member_id: int | None
    # Burst debounce: the id of the last message of the turn this one was answered in.
    turn_id: int | None
    agent_id: int | None  # a reply (sender ai): the agent that wrote it
    ignored_by_rule_id: int | None  # an inbound message `ignored` by an ignore rule: the rule
    created_at: UtcDateTime
    updated_at: UtcDateTime
    media: MediaOut | None = Field(
        default=None, description="an image, video, audio, document or sticker; null otherwise"
    )
    location: LocationOut | None = Field(default=None, description="a location message's")
    contacts: list[SharedContact] | None = Field(
        default=None, description="a contacts message's cards; null otherwise"
    )

    @model_validator(mode="before")
    @classmethod
    def _attachment(cls, row: Any) -> Any:
        """A stored row: its fields, and `media`, `location` and `contacts` from its attachment
        (app/media/attachment.py)."""
        if isinstance(row, dict) or not hasattr(row, "attachment"):
            return row
        fields = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        return {**fields, **attachment_fields(row.attachment, row.id)}


class MessagePage(Page[MessageOut]):
    """The one page shape (`items`, `next`), and the name this list had first."""

    next_before_id: int | None = Field(
        deprecated=True,
        description="deprecated: `next` as a number; pass `cursor` (or `before_id`) back",
    )


class Requeued(BaseModel):
    id: int
    status: Literal["queued"] = "queued"


@router.get("")
async def list_messages(
    repository: RepositoryDep,
    seen_by: ViewerDep,
    status: Annotated[MessageStatus | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: IdCursor | None = None,
    before_id: BeforeId = None,
) -> MessagePage:
    """List messages, newest first; `status=failed` lists the dead letters. Pages as every list
    does: pass `next` back as `cursor` (`before_id` and `next_before_id` are the same, by their
    first names)."""
    page = await repository.reads.page(
        status=status,
        direction=direction.value if direction else None,
        limit=limit,
        before_id=cursor if cursor is not None else before_id,
        tenant_id=seen_by.tenant_id,
        channel_ids=seen_by.channel_ids,
    )
    following = page.next_before_id
    return MessagePage(
        items=[MessageOut.model_validate(m) for m in page.items],
        next=None if following is None else str(following),
        next_before_id=following,
    )


@router.post(
    "",
    status_code=202,
    responses=answers(
        NotFound,
        UnreadableBody,
        Conflict,
        FileTooLarge,
        BodyTooLarge,
        UnsupportedBody,
        Unprocessable,
    ),
    openapi_extra=openapi_body("SendIn", SEND_FORM),
    max_body_size=MAX_UPLOAD_BODY,
)
async def send_message(
    request: Request,
    scope: ConverseScope,
    session: SessionDep,
    queue: QueueDep,
    tracing: TracingDep,
    metrics: MetricsDep,
    store: MediaStoreDep,
) -> MessageOut:
    """Send a text, a template or a file from a channel's number to a contact (`to`: its id) or
    a phone number (made a contact, with a conversation whose 24-hour window is closed): 202 with
    the message, stored and then sent by a job of its own. The tenant's key with an agent's role
    or more, or the operator naming the tenant with X-Tenant-ID. 409 for a text or a file outside
    the 24-hour window (a template is needed) or a blocked contact; 422 for a template or a file
    on an api channel. A file: JSON `media` with a public `link` Meta fetches, or a multipart form
    with `file` (and `caption`, `channel_id`, `to` or `contact_id`); a type WhatsApp does not send
    is a 422, one over its kind's limit a 413."""
    request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
    body = await read_body(request, SendIn, SendFileForm, store)
    if isinstance(body, SendIn):
        message = await service.send(session, scope, body, request_id, tracing.traceparent())
    else:
        form, received = body
        attachment = await store_file(store, received, scope.tenant_id, form.caption)
        try:
            message = await service.send(
                session,
                scope,
                SendIn.model_construct(channel_id=form.channel_id, to=form.to),
                request_id,
                tracing.traceparent(),
                attachment,
            )
        except BaseException:
            await delete_quietly(store, [attachment["key"]])
            raise
    metrics.message_status(Direction.OUTBOUND.value, OutboundStatus.PENDING.value)
    await queue.submit(message.id, by="message")
    return MessageOut.model_validate(message)


@router.get("/stats")
async def message_stats(repository: RepositoryDep, seen_by: ViewerDep) -> dict[str, dict[str, int]]:
    """How many messages stand in each status, inbound and outbound."""
    return await repository.reads.counts(seen_by.tenant_id, seen_by.channel_ids)


@router.get("/{message_id}", responses=declared(NotFound))
async def get_message(
    message_id: MessageId, repository: RepositoryDep, seen_by: ViewerDep
) -> MessageOut:
    """One message, with its status, Meta's error and the attempts made."""
    message = await repository.reads.get(message_id, seen_by.tenant_id, seen_by.channel_ids)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return MessageOut.model_validate(message)


@router.post(
    "/{message_id}/retry", status_code=202, responses=declared(Forbidden, NotFound, Conflict)
)
async def retry_message(
    message_id: MessageId, repository: RepositoryDep, queue: QueueDep, seen_by: ViewerDep
) -> Requeued:
    """Replay a failed message: an inbound one, or the inbound one a failed reply belongs to, or
    a member's message. A tenant's key needs an agent's role or more."""
    if not seen_by.may(Permission.CONVERSE):
        raise Forbidden(f"the role {seen_by.role} may not replay messages")
    message = await repository.reads.get(message_id, seen_by.tenant_id, seen_by.channel_ids)
    if message is None:
        raise NotFound(f"no message {message_id}")
    inbound_id = await repository.reads.reopen(message)
    if inbound_id is None:
        raise Conflict(f"message {message_id} has not failed; only failed messages are replayed")
    await queue.submit(inbound_id, by="message")
    return Requeued(id=inbound_id)
