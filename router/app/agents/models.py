from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base
from app.core.ids import IdColumn
from app.secrets import EncryptedJSON

# The priority of the `http` agent every channel starts with: others can go before or after it.
DEFAULT_PRIORITY = 100
DEFAULT_AGENT_NAME = "Server"
# An agent made without a priority: before the Server's, which answers every text, so that the
# agent is asked at all.
CREATED_PRIORITY = 50
# The fields of a config that are secrets: stored encrypted. A field of an agent type's config named
# like a secret must be one of them (tests/secrets/test_models.py).
SECRET_CONFIG_FIELDS = ("api_key",)


class AgentType(StrEnum):
    HTTP = "http"  # the Server's contract: POST {url} {"text"} -> {"reply"}
    RULE_BASED = "rule_based"  # fixed replies to patterns
    LLM = "llm"  # an OpenAI-compatible chat-completions endpoint


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(IdColumn, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", name="fk_agents_tenant", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    agent_type: Mapped[str] = mapped_column(String(16))
    # As its type's schema validated it (app/agents/schemas.py); an llm's api_key is in it,
    # stored encrypted (app/secrets/), and no answer or log line ever carries it.
    config: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(SECRET_CONFIG_FIELDS))
    priority: Mapped[int] = mapped_column(Integer, default=DEFAULT_PRIORITY)
    # Every channel of its tenant, those made later too (it has no `agent_channels` rows then).
    all_channels: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentChannel(Base):
    """Which channels an agent answers for, unless it answers for all of them."""

    __tablename__ = "agent_channels"
    __table_args__ = (Index("ix_agent_channels_channel", "channel_id"),)

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", name="fk_agent_channels_agent", ondelete="CASCADE"),
        primary_key=True,
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", name="fk_agent_channels_channel", ondelete="CASCADE"),
        primary_key=True,
    )
