"""Every table, imported once so `Base.metadata` knows them all (Alembic, the schema test)."""

from app.agents.models import Agent, AgentChannel
from app.auth.models import ApiKey
from app.channels.models import Channel
from app.contacts.models import Contact
from app.conversations.models import Conversation, ConversationRead
from app.core.db import Base
from app.events.models import EventRow
from app.ignore_rules.models import IgnoreRule
from app.members.models import Member
from app.messages.models import Message, StatusEvent
from app.monitoring.models import Worker
from app.schedules.models import Schedule, ScheduledMessage
from app.tenants.models import Tenant

__all__ = [
    "Agent",
    "AgentChannel",
    "ApiKey",
    "Base",
    "Channel",
    "Contact",
    "Conversation",
    "ConversationRead",
    "EventRow",
    "IgnoreRule",
    "Member",
    "Message",
    "Schedule",
    "ScheduledMessage",
    "StatusEvent",
    "Tenant",
    "Worker",
]
