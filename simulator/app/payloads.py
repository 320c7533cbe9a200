"""Webhook bodies in the shapes Meta sends (see shared/fixtures/meta/), and their signature.

Bodies are serialised the way Meta's are: compact, non-ASCII escaped, and `/` escaped as `\\/`.
A Router that re-serialises the JSON before checking the signature fails here as it would on Meta.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from app.businesses import Business
from app.store import ContactShape, Message, User

MEDIA_MIME_TYPES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18" + secrets.token_bytes(21)).decode()


def new_media_id() -> str:
    return str(secrets.randbelow(10**16) + 10**15)


def new_bsuid() -> str:
    return "US." + str(secrets.randbelow(10**20) + 10**19)


def new_parent_bsuid() -> str:
    return "US.ENT." + str(secrets.randbelow(10**20) + 10**19)


def dumps(body: Any) -> bytes:
    """Serialise like Meta: compact, ASCII only, slashes escaped."""
    return json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()


def reserialise(raw: bytes) -> bytes:
    """The same JSON with other key order and whitespace: a duplicate that is not byte-equal."""
    return json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False).encode()


def sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def metadata(business: Business) -> dict[str, str]:
    return {
        "display_phone_number": business.display_phone_number,
        "phone_number_id": business.phone_number_id,
    }


def contact(user: User, shape: ContactShape) -> dict[str, Any]:
    entry: dict[str, Any] = {"profile": {"name": user.name}, "wa_id": user.wa_id}
    if shape == "bsuid":
        entry["user_id"] = user.user_id
        entry["parent_user_id"] = user.parent_user_id
    return entry


def default_content(kind: str, text: str | None) -> Any:
    """The type's object for an inbound message, before the caller's `content` is merged in."""
    if kind == "text":
        return {"body": text if text is not None else ""}
    if kind in MEDIA_MIME_TYPES:
        media: dict[str, Any] = {
            "mime_type": MEDIA_MIME_TYPES[kind],
            "sha256": base64.b64encode(secrets.token_bytes(32)).decode(),
            "id": new_media_id(),
        }
        if text is not None and kind in ("image", "video", "document"):
            media["caption"] = text
        if kind == "document":
            media["filename"] = "document.pdf"
        if kind == "audio":
            media["voice"] = False
        if kind == "sticker":
            media["animated"] = False
        return media
    if kind == "location":
        return {"latitude": 32.0853, "longitude": 34.7818}
    if kind == "contacts":
        return [
            {
                "name": {
                    "first_name": "Test",
                    "last_name": "Contact",
                    "formatted_name": "Test Contact",
                },
                "phones": [{"phone": "+1 555-555-0100", "wa_id": "15555550100", "type": "CELL"}],
            }
        ]
    if kind == "reaction":
        return {"message_id": "", "emoji": text if text is not None else "\U0001f44d"}
    if kind == "interactive":
        title = text if text is not None else "Yes"
        return {"type": "button_reply", "button_reply": {"id": "button-1", "title": title}}
    if kind == "button":
        title = text if text is not None else "Yes"
        return {"payload": title, "text": title}
    raise ValueError(f"unknown inbound type {kind!r}")


def inbound_message(
    user: User,
    kind: str,
    content: Any,
    timestamp: int,
    context: dict[str, str] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if context:
        message["context"] = context
    message |= {"from": user.wa_id, "id": new_wamid(), "timestamp": str(timestamp), "type": kind}
    message[kind] = content
    return message


def messages_value(
    business: Business, senders: list[tuple[User, ContactShape]], messages: list[dict[str, Any]]
) -> dict[str, Any]:
    contacts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for user, shape in senders:
        if user.wa_id not in seen:
            seen.add(user.wa_id)
            contacts.append(contact(user, shape))
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(business),
        "contacts": contacts,
        "messages": messages,
    }


def status_value(
    business: Business, statuses: Sequence[tuple[Message, User, str]], timestamp: int
) -> dict[str, Any]:
    """One change's value carrying these statuses; `contacts` names each BSUID user once."""
    contacts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, user, _ in statuses:
        if user.contact_shape == "bsuid" and user.wa_id not in seen:
            seen.add(user.wa_id)
            contacts.append(contact(user, "bsuid"))
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata(business)}
    if contacts:
        value["contacts"] = contacts
    value["statuses"] = [status_object(m, u, status, timestamp) for m, u, status in statuses]
    return value


def status_object(message: Message, user: User, status: str, timestamp: int) -> dict[str, Any]:
    category = "utility" if message.type == "template" else "service"
    conversation: dict[str, Any] = {"id": user.conversation_id}
    if status == "sent":
        conversation["expiration_timestamp"] = str(timestamp + 24 * 3600)
    conversation["origin"] = {"type": category}
    item: dict[str, Any] = {
        "id": message.wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": user.wa_id,
    }
    # As Meta does: in every status of a message sent with it, and only then.
    if message.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = message.biz_opaque_callback_data
    item["conversation"] = conversation
    item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": category}
    return item


def envelope(business: Business, values_per_entry: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """`{"object": ..., "entry": [...]}` with one change per value, grouped into the business's
    WABA entries."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
            for values in values_per_entry
        ],
    }
