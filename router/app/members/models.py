from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_members_tenant_email"),
        UniqueConstraint("tenant_id", "oidc_subject", name="uq_members_tenant_subject"),
        # A JWT names a subject (or, for an invitation not yet taken up, an email), not a tenant.
        Index("ix_members_oidc_subject", "oidc_subject"),
        Index("ix_members_email", "email"),
    )

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_members_tenant", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))  # kept lower-case
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MemberChannel(Base):
    """A number (channel) a member is on. An agent or viewer on at least one sees only their
    numbers' conversations; on none, every number's (app/auth/principal.py)."""

    __tablename__ = "member_channels"
    __table_args__ = (Index("ix_member_channels_channel", "channel_id"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", name="fk_member_channels_member", ondelete="CASCADE"),
        primary_key=True,
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", name="fk_member_channels_channel", ondelete="CASCADE"),
        primary_key=True,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
