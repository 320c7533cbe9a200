"""`/api/v1/messages`: every message's life, and the dead letters' replay."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict

from app.deps import AdminDep, QueueDep, RepositoryDep
from app.errors import Conflict, NotConfigured, NotFound, Unauthorized, declared
from app.store.models import Direction

router = APIRouter(
    prefix="/api/v1/messages",
    tags=["messages"],
    dependencies=[AdminDep],
    responses=declared(Unauthorized, NotConfigured),
)

# The API's ids are int64 whatever the store: an id beyond that is a 422, one within it that no row
# has (even one the store's column could never hold) a 404.
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BeforeId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]

# Every status of either direction (app.store.models; a test holds them equal).
MessageStatus = Literal[
    "received",
    "processing",
    "replied",
    "ignored",
    "failed",
    "blocked",
    "handed_over",
    "unrouted",
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
    status: str
    error_code: int | None
    error_title: str | None
    attempts: int
    reply_to_id: int | None
    part: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_before_id: int | None


class Requeued(BaseModel):
    id: int
    status: Literal["queued"] = "queued"


@router.get("")
async def list_messages(
    repository: RepositoryDep,
    status: Annotated[MessageStatus | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: BeforeId = None,
) -> MessagePage:
    """List messages, newest first; `status=failed` lists the dead letters."""
    page = await repository.page(
        status=status,
        direction=direction.value if direction else None,
        limit=limit,
        before_id=before_id,
    )
    return MessagePage(
        items=[MessageOut.model_validate(m) for m in page.items],
        next_before_id=page.next_before_id,
    )


@router.get("/stats")
async def message_stats(repository: RepositoryDep) -> dict[str, dict[str, int]]:
    """How many messages stand in each status, inbound and outbound."""
    return await repository.counts()


@router.get("/{message_id}", responses=declared(NotFound))
async def get_message(message_id: MessageId, repository: RepositoryDep) -> MessageOut:
    """One message, with its status, Meta's error and the attempts made."""
    message = await repository.get(message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return MessageOut.model_validate(message)


@router.post("/{message_id}/retry", status_code=202, responses=declared(NotFound, Conflict))
async def retry_message(
    message_id: MessageId, repository: RepositoryDep, queue: QueueDep
) -> Requeued:
    """Replay a failed message: an inbound one, or the inbound one a failed reply belongs to."""
    message = await repository.get(message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    inbound_id = await repository.reopen(message)
    if inbound_id is None:
        raise Conflict(f"message {message_id} has not failed; only failed messages are replayed")
    await queue.enqueue(inbound_id)
    return Requeued(id=inbound_id)
