"""What the message path's repositories share: the tables, the conditions, the results they
hand back, and the base each builds on (composed in store.py)."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.channels.directory import ChannelDirectory
from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.writer import GroupCommit
from app.inbound.ingest import RecentPeople
from app.inbound.payload import InboundMessage, StatusUpdate
from app.messages.models import (
    UNFINISHED_INBOUND,
    Direction,
    InboundStatus,
    Message,
    MessageRow,
    OutboundStatus,
    StatusEvent,
)
from app.observability.metrics import Metrics

messages: Table = Message.__table__  # type: ignore[assignment]
events: Table = StatusEvent.__table__  # type: ignore[assignment]
COLUMNS = tuple(messages.columns)
# How long a process keeps a number's channel when nothing says otherwise (see the directory).
CHANNEL_CACHE_SECONDS = 10.0

# A member's message (and, later, any outbound message that answers nothing): sent by a job of its
# own, held through the same lease as an inbound message's while it is `pending`.
OWN = and_(
    messages.c.direction == Direction.OUTBOUND.value,
    messages.c.reply_to_id.is_(None),
)
UNFINISHED = or_(
    and_(
        messages.c.direction == Direction.INBOUND.value, messages.c.status.in_(UNFINISHED_INBOUND)
    ),
    and_(OWN, messages.c.status == OutboundStatus.PENDING.value),
)
# Wamids per status statement: far below SQLite's and asyncpg's limits on bound parameters.
STATUS_CHUNK = 500
INBOUND, OUTBOUND = Direction.INBOUND.value, Direction.OUTBOUND.value


@dataclass(frozen=True, slots=True)
class MessageSlice:
    items: list[Message]
    next_before_id: int | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A message a worker holds. An inbound one, to route and answer; or an outbound message of
    its own (`own`: a member's), to send. With what routing needs, read when it was taken."""

    message: MessageRow
    replies: list[MessageRow]  # reply parts an earlier attempt stored, in order; usually none
    owner_member_id: int | None = None  # the conversation's owner; None: the bot
    contact_blocked: bool = False

    @property
    def own(self) -> bool:
        return self.message.direction == Direction.OUTBOUND.value


@dataclass(frozen=True, slots=True)
class Ingested:
    """What a webhook's messages came to: the new ones to queue, and those to no channel."""

    queued: list[int]
    unrouted: int = 0

    @property
    def stored(self) -> int:
        return len(self.queued) + self.unrouted


@dataclass(frozen=True, slots=True)
class Ending:
    """How an inbound message's processing ended."""

    message: MessageRow
    status: InboundStatus
    error_code: int | None = None
    error_title: str | None = None
    ignored_by_rule_id: int | None = None  # `ignored` by an ignore rule: the rule


@dataclass(frozen=True, slots=True)
class Start:
    """A part's send is about to start, with this tracker (see app/outbound/trackers.py)."""

    part_id: int
    tracker: str


@dataclass(frozen=True, slots=True)
class Accepted:
    part_id: int
    wamid: str
    ending: Ending | None  # the last part: the message ends in the same transaction
    then: Start | None  # the next part: its send starts
    own: MessageRow | None = None  # a message of its own: its contact's next one is looked for


@dataclass(frozen=True, slots=True)
class Webhook:
    messages: Sequence[InboundMessage]
    statuses: Sequence[StatusUpdate]
    request_id: str
    traceparent: str | None = None  # the webhook's trace context (traces on)


Write = Callable[[AsyncConnection], Awaitable[Any]]


_FACTS = ("r_owner", "r_blocked")
# A message a worker may hold: an inbound one being processed, a pending one of its own.
HELD = or_(
    messages.c.status == InboundStatus.PROCESSING.value,
    and_(OWN, messages.c.status == OutboundStatus.PENDING.value),
)


def claim_facts() -> tuple[Any, Any]:
    """What routing needs, read in the statement that takes a message: the conversation's owner
    and the contact's block (a handover or a block counts from the very next message)."""
    c = messages.c
    conversation = Conversation.__table__
    contact = Contact.__table__
    owner = (
        select(conversation.c.owner_member_id)
        .where(conversation.c.id == c.conversation_id)
        .correlate(messages)
        .scalar_subquery()
        .label("r_owner")
    )
    blocked = (
        select(contact.c.is_blocked)
        .where(contact.c.id == c.contact_id)
        .correlate(messages)
        .scalar_subquery()
        .label("r_blocked")
    )
    return owner, blocked


def claim_of(row: Any) -> Claim:
    return Claim(row_of(row), [], row["r_owner"], bool(row["r_blocked"]))


def row_of(row: Any) -> MessageRow:
    if "r_owner" in row:
        return MessageRow(**{k: v for k, v in row.items() if k not in _FACTS})
    return MessageRow(**row)


def after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


class Shared:
    """What every repository of the message path shares: the engine, the group-commit writer, the
    channel directory, the metrics, and the statements more than one of them runs."""

    writer: GroupCommit  # made by MessageRepository once the repositories' write kinds exist

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        directory: ChannelDirectory,
        metrics: Metrics,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.directory = directory
        self.metrics = metrics
        self.recent = RecentPeople()
        self.dialect: Any = postgresql if engine.dialect.name == "postgresql" else sqlite
        c = messages.c
        self.select_replies = (
            select(*COLUMNS)
            .where(c.reply_to_id.in_(bindparam("b_ids", expanding=True)))
            .order_by(c.reply_to_id, c.part)
        )

    def count(self, direction: str, status: str, count: int = 1) -> None:
        """router_messages_total: `count` messages moved into `status` once this round commits."""
        self.writer.after_commit(self.metrics.message_status, direction, status, count)

    async def each(self, connection: AsyncConnection, writes: list[Write]) -> list[Any]:
        """Writes too rare to deserve a statement of their own kind: one after the other."""
        return [await write(connection) for write in writes]


class RepositoryBase:
    """A repository of the message path: its statements are built once, with bind parameters, in
    its `__init__`; its writes go through the shared group-commit writer."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._engine = shared.engine
        self._sessions = shared.sessions
        self._metrics = shared.metrics
        self._recent = shared.recent
        self._select_replies = shared.select_replies
        self.directory = shared.directory
        # The writer tells its kinds of write apart by their handler: every repository's one-off
        # writes are the same kind.
        self._each = shared.each

    @property
    def _writer(self) -> GroupCommit:
        return self._shared.writer

    def _count(self, direction: str, status: str, count: int = 1) -> None:
        self._shared.count(direction, status, count)
