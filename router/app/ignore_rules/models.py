from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn


class RuleType(StrEnum):
    CONTACT = "contact"  # value: the contact's id, or its wa_id / user id
    KEYWORD = "keyword"  # value: a word (or words), matched whole and in any case
    MESSAGE_TYPE = "message_type"  # value: Meta's message type (image, audio, sticker, ...)


class IgnoreRule(Base):
    __tablename__ = "ignore_rules"
    __table_args__ = (Index("ix_ignore_rules_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_ignore_rules_tenant", ondelete="CASCADE")
    )
    rule_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    # NULL: every channel of the tenant.
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", name="fk_ignore_rules_channel", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
