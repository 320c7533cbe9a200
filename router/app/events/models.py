from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

# SQLite's INTEGER PRIMARY KEY is its rowid (64-bit); PostgreSQL's BIGINT identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    """One event of a tenant's live stream (app/events/): what happened to which object. The
    object itself is read when the event is delivered, so a row stays small and the message path
    writes only ids. Kept ROUTER_EVENTS_RETENTION_SECONDS for replays after a reconnect."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id", "tenant_id", "id"),
        Index("ix_events_at", "at"),
        # Ids are never reused, even once the newest rows are pruned: a subscriber's
        # Last-Event-ID must never name an event older than one it has not seen yet.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column()
