from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn
from app.secrets import EncryptedText

# The `phone_number_id` an api channel's messages are stored with: it has no number, and they go
# through no Graph API (stored is delivered: the integration reads them from the conversation).
NO_NUMBER = ""


class ChannelType(StrEnum):
    WHATSAPP = "whatsapp"
    API = "api"  # a generic inbound for other sources (`POST /webhooks/inbound`)


class Channel(Base):
    __tablename__ = "channels"
    # One Meta app serves every number: a webhook finds its channel by phone_number_id alone.
    __table_args__ = (UniqueConstraint("phone_number_id", name="uq_channels_phone_number_id"),)

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_channels_tenant", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    phone_number_id: Mapped[str | None] = mapped_column(String(64))  # NULL for `api` channels
    display_phone_number: Mapped[str | None] = mapped_column(String(32))
    waba_id: Mapped[str | None] = mapped_column(String(64))
    # Write-only through the API, never logged, stored encrypted (app/secrets/). NULL on a number
    # that came from messages stored before the platform existed: the env's WHATSAPP_ACCESS_TOKEN
    # sends for it.
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    # Burst debounce: a contact's messages that arrive within this many milliseconds of each
    # other are answered once, as one turn (app/routing/turns.py). NULL or 0: each is answered.
    debounce_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
