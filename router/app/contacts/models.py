from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # Either identifier may be missing; each present one names one contact of the tenant.
        UniqueConstraint("tenant_id", "wa_id", name="uq_contacts_tenant_wa_id"),
        UniqueConstraint("tenant_id", "user_id", name="uq_contacts_tenant_user_id"),
        CheckConstraint("wa_id IS NOT NULL OR user_id IS NOT NULL", name="ck_contacts_identified"),
    )

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_contacts_tenant", ondelete="CASCADE")
    )
    wa_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(255))
    # Set once a member edits the name: WhatsApp's profile name no longer overwrites it.
    name_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
