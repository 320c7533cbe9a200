from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn


class ScheduleStatus(StrEnum):
    ACTIVE = "active"  # has a next run
    CANCELLED = "cancelled"  # DELETE: no run any more
    DONE = "done"  # a `send_at` schedule that has run


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (
        # The scheduler's poll: `next_run_at <= now`. Only active schedules have one, so a store
        # with nothing due answers from the index alone.
        Index("ix_schedules_next_run_at", "next_run_at"),
        Index("ix_schedules_tenant", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_schedules_tenant", ondelete="CASCADE")
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", name="fk_schedules_channel", ondelete="CASCADE")
    )
    # The contacts it sends to, by id (a wa_id given at creation is a contact from then on).
    recipients: Mapped[list[int]] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Text)
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # One of the two: a single run at `send_at` (naive UTC), or a run at each time of `cron`
    # (five fields) read in `timezone` (an IANA name).
    send_at: Mapped[datetime | None] = mapped_column()
    cron: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    next_run_at: Mapped[datetime | None] = mapped_column()  # NULL unless active
    last_run_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScheduledMessage(Base):
    """A message a run of a schedule made: one per recipient and due time, never two (the unique
    constraint holds it even against a claim gone wrong)."""

    __tablename__ = "schedule_messages"
    __table_args__ = (
        UniqueConstraint(
            "schedule_id", "due_at", "contact_id", name="uq_schedule_messages_run_contact"
        ),
        Index("ix_schedule_messages_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", name="fk_schedule_messages_schedule", ondelete="CASCADE")
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", name="fk_schedule_messages_message", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column()
