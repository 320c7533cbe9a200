from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn


class ApiKey(Base):
    """A tenant's API key. The key itself is never stored: only its public id and a hash."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("public_id", name="uq_api_keys_public_id"),)

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_api_keys_tenant", ondelete="CASCADE")
    )
    # The member the key acts as (the author of what it writes); NULL for an integration's key.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", name="fk_api_keys_member", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # The numbers (channel ids) whose conversations the key sees; NULL: every number.
    channel_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))
    public_id: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
