"""Tables. One row per message, both directions, so a message's whole life is in one place.

The platform's tables (tenants, channels, members, contacts, conversations, API keys) live in their
domain packages on the same `Base`; `app.models` imports them all.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, waiting for its turn
    PROCESSING = "processing"  # claimed by a worker (see lease_until)
    REPLIED = "replied"
    IGNORED = "ignored"  # not a text, or an ignore rule's (ignored_by_rule_id): not answered
    FAILED = "failed"  # gave up; error_code/error_title say why; replayable
    BLOCKED = "blocked"  # from a blocked contact: kept, never answered, never shown to the bot
    HANDED_OVER = "handed_over"  # a member owns the conversation: kept and shown, the bot not asked
    UNROUTED = "unrouted"  # to a number no channel has: kept, never answered
    # Burst debounce: answered in a turn with the messages after it; `turn_id` names the turn's
    # last message, whose status says how the turn ended (app/routing/turns.py).
    IN_TURN = "in_turn"
    UNANSWERED = "unanswered"  # each of the channel's agents passed (or it has none)


class Sender(StrEnum):
    """Who wrote a message: the contact, the bot (the channel's agent) or a member."""

    CONTACT = "contact"
    AI = "ai"
    AGENT = "agent"


class OutboundStatus(StrEnum):
    PENDING = "pending"  # reply computed, not yet accepted by the Graph API
    ACCEPTED = "accepted"  # the Graph API returned its wamid
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# Meta's limit for `biz_opaque_callback_data`.
MAX_TRACKER_LENGTH = 512

UNFINISHED_INBOUND = (InboundStatus.RECEIVED.value, InboundStatus.PROCESSING.value)

# Where an outbound message stands; a status update never moves it to a lower rank.
OUTBOUND_RANK = {
    OutboundStatus.PENDING: 0,
    OutboundStatus.ACCEPTED: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.DELIVERED: 3,
    OutboundStatus.READ: 4,
    OutboundStatus.FAILED: 5,
}


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("wamid", name="uq_messages_wamid"),
        UniqueConstraint("reply_to_id", "part", name="uq_messages_reply_part"),
        Index("ix_messages_contact_order", "phone_number_id", "contact", "id"),
        Index("ix_messages_status", "status"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))
    wamid: Mapped[str | None] = mapped_column(String(255))
    phone_number_id: Mapped[str] = mapped_column(String(64))
    # Whom the message is from (inbound) or to (outbound): the wa_id, else the BSUID.
    contact: Mapped[str] = mapped_column(String(128))
    wa_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(128))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    part: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(128))
    # Outbound: the `biz_opaque_callback_data` this part is sent with, set before its send starts.
    # A pending part with a tracker may have reached Meta (see app/outbound/trackers.py).
    tracker: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Where the message belongs on the platform. NULL while a message is not routed (a number no
    # channel has; rows written before routing fills them in).
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", name="fk_messages_tenant")
    )
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", name="fk_messages_channel")
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", name="fk_messages_conversation")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", name="fk_messages_contact")
    )
    # NULL on rows the webhook and the pipeline write before routing sets it: the direction says
    # it then (inbound: the contact, outbound: the bot).
    sender: Mapped[str | None] = mapped_column(String(8))
    author_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", name="fk_messages_author", ondelete="SET NULL")
    )
    # A template message's `name`, `language` and `components` (JSON), sent as they are.
    template: Mapped[str | None] = mapped_column(Text)
    # With traces on, the W3C trace context of the request that stored the message (a reply: its
    # inbound message's), which its job continues (app/observability/tracing.py).
    traceparent: Mapped[str | None] = mapped_column(String(55))
    # Burst debounce: the id of the last message of the turn this inbound message belongs to
    # (the last one's own id on it); NULL outside a turn.
    turn_id: Mapped[int | None] = mapped_column(Integer)
    # The agent that wrote a reply, and the ignore rule that kept an inbound message: plain ids,
    # kept when the agent or the rule is deleted (app/agents/, app/ignore_rules/).
    agent_id: Mapped[int | None] = mapped_column(Integer)
    ignored_by_rule_id: Mapped[int | None] = mapped_column(Integer)
    # What the message carries besides its text, as JSON (app/media/attachment.py): a file (its
    # kind, type, size, name, checksum, state and blob key), a location or shared contacts. NULL
    # on a text.
    attachment: Mapped[str | None] = mapped_column(Text)


class StatusEvent(Base):
    """Every status webhook as Meta sent it; the outbound message keeps the highest one."""

    __tablename__ = "status_events"
    __table_args__ = (
        UniqueConstraint("wamid", "status", name="uq_status_events_wamid_status"),
        Index("ix_status_events_wamid", "wamid"),
        Index("ix_status_events_tracker", "tracker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(Text)
    meta_timestamp: Mapped[str | None] = mapped_column(String(32))
    # The `biz_opaque_callback_data` Meta echoes from the send: which part this wamid is.
    tracker: Mapped[str | None] = mapped_column(String(MAX_TRACKER_LENGTH))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A `messages` row as the workers use it: plain data, cheaper than an ORM object they would
    never change through the session. Its fields are the table's columns (a test holds them so)."""

    id: int
    direction: str
    wamid: str | None
    phone_number_id: str
    contact: str
    wa_id: str | None
    user_id: str | None
    contact_name: str | None
    type: str
    text: str | None
    status: str
    error_code: int | None
    error_title: str | None
    attempts: int
    reply_to_id: int | None
    part: int | None
    request_id: str | None
    tracker: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    tenant_id: int | None
    channel_id: int | None
    conversation_id: int | None
    contact_id: int | None
    sender: str | None
    author_member_id: int | None
    template: str | None
    traceparent: str | None
    turn_id: int | None
    agent_id: int | None
    ignored_by_rule_id: int | None
    attachment: str | None
