from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn

# WhatsApp's customer-service window: free-form messages only until 24 h after the contact's last.
SERVICE_WINDOW = timedelta(hours=24)
# How the API names the bot (the channel's agent: the Server, SERVER_BASE_URL, for now).
BOT_NAME = "bot"
# The member the transfer toggle creates when the tenant has no human agent yet.
DEFAULT_AGENT_NAME = "Human agent"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # At most one open conversation per channel and contact: an inbound message continues it.
        Index(
            "uq_conversations_open",
            "channel_id",
            "contact_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_conversations_activity", "tenant_id", "last_message_at", "id"),
        Index("ix_conversations_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_conversations_tenant", ondelete="CASCADE")
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", name="fk_conversations_channel")
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", name="fk_conversations_contact")
    )
    status: Mapped[str] = mapped_column(String(8), default=ConversationStatus.OPEN.value)
    # NULL: the bot (the channel's agent) answers; otherwise the member who took it over.
    owner_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", name="fk_conversations_owner", ondelete="SET NULL")
    )
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def window_expires_at(self) -> datetime | None:
        return window_closes(self.last_inbound_at)


def window_closes(last_inbound_at: datetime | None) -> datetime | None:
    """When the contact's 24-hour customer-service window closes; None before they wrote."""
    return last_inbound_at + SERVICE_WINDOW if last_inbound_at else None


class ConversationRead(Base):
    """How far a member has read a conversation: the contact's messages after
    `last_read_message_id` are the member's unread ones (`unread_count` in the list)."""

    __tablename__ = "conversation_reads"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey(
            "conversations.id", name="fk_conversation_reads_conversation", ondelete="CASCADE"
        ),
        primary_key=True,
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", name="fk_conversation_reads_member", ondelete="CASCADE"),
        primary_key=True,
    )
    last_read_message_id: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
