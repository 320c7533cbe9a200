"""An event's object as JSON, straight from its row (app/events/repository.py `message_rows` and
`conversation_rows`): what `ConversationMessage` and `ConversationOut` write, byte for byte
(tests/events/test_events_encoding.py holds them equal), without building either model.

A stream encodes every message again at each of its statuses, thousands a second under load:
building and validating the models, then their timestamps' serializer in Python, was most of what
a subscriber cost the router. Here a row becomes a dict in the models' field order, and
pydantic-core's serializer (the one the models use) writes it.
"""

from typing import Any

from pydantic_core import to_json

from app.conversations.models import BOT_NAME, window_closes
from app.core.schemas import with_offset
from app.messages.schemas import attachment_fields, author_fields, sender_of, stored_template


def _time(value: Any) -> str | None:
    return None if value is None else with_offset(value)


def message_json(m: Any) -> str:
    """A `message_rows` row as `ConversationMessage` writes it."""
    sender = sender_of(m.sender, m.direction)
    author_id, author_name = author_fields(
        sender, (m.contact_key, m.contact_name), (m.author_id, m.author_name)
    )
    return to_json(
        {
            "id": m.id,
            "conversation_id": m.conversation_id,
            "direction": m.direction,
            "sender": sender.value,
            "author": {"id": author_id, "name": author_name},
            "type": m.type,
            "text": m.text,
            "template": stored_template(m.template),
            "status": m.status,
            "error_code": m.error_code,
            "error_title": m.error_title,
            "wamid": m.wamid,
            "agent_id": m.agent_id,
            "ignored_by_rule_id": m.ignored_by_rule_id,
            "created_at": with_offset(m.created_at),
            "updated_at": with_offset(m.updated_at),
            "content": m.text,
            **attachment_fields(m.attachment, m.id),
        }
    ).decode()


def conversation_json(c: Any) -> str:
    """A `conversation_rows` row as `ConversationOut` writes it."""
    if c.owner_id is None:
        owner = {"type": "ai", "id": None, "name": BOT_NAME}
    else:
        owner = {"type": "agent", "id": c.owner_id, "name": c.owner_name}
    return to_json(
        {
            "id": c.id,
            "status": c.status,
            "channel_id": c.channel_id,
            "contact": {
                "id": c.contact_key,
                "wa_id": c.contact_wa_id,
                "user_id": c.contact_user_id,
                "name": c.contact_name,
            },
            "owner": owner,
            "last_message_at": with_offset(c.last_message_at),
            "last_inbound_at": _time(c.last_inbound_at),
            "window_expires_at": _time(window_closes(c.last_inbound_at)),
            "created_at": with_offset(c.created_at),
            "updated_at": with_offset(c.updated_at),
            "company_id": c.tenant_id,
            "contact_id": c.contact_key,
            "owner_id": c.owner_id,
            "channel": {
                "id": c.channel_id,
                "type": c.channel_type,
                "name": c.channel_name,
                "phone_number_id": c.channel_phone_number_id,
                "display_phone_number": c.channel_display_phone_number,
            },
        }
    ).decode()
