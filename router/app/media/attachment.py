"""What a message carries besides its text, kept as JSON in `messages.attachment`, and how the API
shows it.

Stored (one object, by `kind`):
- a file (image, video, audio, document, sticker): `mime_type`, `file_size`, `filename`,
  `caption`, `sha256` (hex), `state` (pending, stored, failed), `error`, and what only the router
  reads: `key` (its blob), `media_id` (Meta's: the webhook's for an inbound file, the upload's for
  an outbound one) and `link` (an outbound file Meta fetches from a public URL);
- a location: `latitude`, `longitude`, `name`, `address`;
- contacts: `contacts`, a list of `{"name", "phones": [{"phone", "wa_id", "type"}]}`.

What a webhook says is read defensively: an id that could not go into a URL, a checksum that is
not one, a name with control characters are dropped or cleaned, never refused: the message is kept.
"""

import base64
import binascii
import json
import math
import re
from typing import Any

from app.media.kinds import CAPTIONED, CONTACTS, LOCATION, MEDIA_KINDS, base_type, safe_filename

PENDING, STORED, FAILED = "pending", "stored", "failed"

_MEDIA_ID = re.compile(r"[0-9A-Za-z_.-]{1,128}")
_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_HEX = re.compile(r"[0-9a-f]{64}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_FIELD = 1000  # a name, an address, a phone: longer is cut
MAX_CAPTION = 4096
MAX_CONTACTS = 50


def _text(value: Any, limit: int = MAX_FIELD) -> str | None:
    """Free text as it can be stored (lone surrogates and NUL become U+FFFD), cut at `limit`."""
    if not isinstance(value, str) or not value:
        return None
    return _UNSTORABLE.sub("\ufffd", value[:limit])


def digest_hex(value: Any) -> str | None:
    """A SHA-256 as 64 hex digits, from hex (the URL lookup's) or base64 (the webhook's); None
    when it is neither."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    lowered = value.strip().lower()
    if _HEX.fullmatch(lowered):
        return lowered
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
        except (binascii.Error, ValueError):
            return None
    return raw.hex() if len(raw) == 32 else None


def mime_of(value: Any) -> str | None:
    found = base_type(value) if isinstance(value, str) and len(value) <= 255 else ""
    return found if _MIME.fullmatch(found) else None


def from_webhook(kind: str, body: Any) -> tuple[dict[str, Any], str | None]:
    """A webhook's `image`/`video`/.../`location`/`contacts` object as stored, and the message's
    text (a caption)."""
    raw = body if isinstance(body, dict) else {}
    if kind == LOCATION:
        return _location(raw), None
    if kind == CONTACTS:
        return {"kind": CONTACTS, "contacts": _contacts(body)}, None
    media_id = raw.get("id")
    caption = _text(raw.get("caption"), MAX_CAPTION) if kind in CAPTIONED else None
    stored: dict[str, Any] = {
        "kind": kind,
        "mime_type": mime_of(raw.get("mime_type")),
        "file_size": None,
        "filename": safe_filename(raw.get("filename"))
        if isinstance(raw.get("filename"), str)
        else None,
        "caption": caption,
        "sha256": digest_hex(raw.get("sha256")),
        "state": PENDING,
        "error": None,
        "key": None,
        "media_id": media_id
        if isinstance(media_id, str) and _MEDIA_ID.fullmatch(media_id)
        else None,
        "link": None,
    }
    if raw.get("voice") is True:
        stored["voice"] = True
    if stored["media_id"] is None:
        stored["state"], stored["error"] = FAILED, "the webhook gave no usable media id"
    return stored, caption


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _location(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": LOCATION,
        "latitude": _coordinate(raw.get("latitude"), 90),
        "longitude": _coordinate(raw.get("longitude"), 180),
        "name": _text(raw.get("name")),
        "address": _text(raw.get("address")),
    }


def _contacts(raw: Any) -> list[dict[str, Any]]:
    found = []
    for card in raw[:MAX_CONTACTS] if isinstance(raw, list) else []:
        if not isinstance(card, dict):
            continue
        name: dict[str, Any] = card["name"] if isinstance(card.get("name"), dict) else {}
        shown = _text(name.get("formatted_name")) or _text(
            " ".join(
                part
                for part in (name.get("first_name"), name.get("last_name"))
                if isinstance(part, str)
            )
        )
        phones = []
        for phone in card.get("phones") or [] if isinstance(card.get("phones"), list) else []:
            if isinstance(phone, dict) and (number := _text(phone.get("phone"), 64)):
                phones.append(
                    {
                        "phone": number,
                        "wa_id": _text(phone.get("wa_id"), 64),
                        "type": _text(phone.get("type"), 32),
                    }
                )
        found.append({"name": shown, "phones": phones[:MAX_CONTACTS]})
    return found


def loads(stored: str | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    found: dict[str, Any] = json.loads(stored)
    return found


def dumps(attachment: dict[str, Any]) -> str:
    return json.dumps(attachment, separators=(",", ":"))


def public_media(stored: str | None, message_id: int) -> dict[str, Any] | None:
    """The API's `media` of a message: null, or its file as the caller may see it."""
    found = loads(stored)
    if found is None or found.get("kind") not in MEDIA_KINDS:
        return None
    return {
        "kind": found["kind"],
        "mime_type": found.get("mime_type"),
        "file_size": found.get("file_size"),
        "filename": found.get("filename"),
        "caption": found.get("caption"),
        "sha256": found.get("sha256"),
        "state": found.get("state"),
        "error": found.get("error"),
        "url": f"/api/v1/messages/{message_id}/media",
    }


def public_location(stored: str | None) -> dict[str, Any] | None:
    found = loads(stored)
    if found is None or found.get("kind") != LOCATION:
        return None
    return {k: found.get(k) for k in ("latitude", "longitude", "name", "address")}


def public_contacts(stored: str | None) -> list[dict[str, Any]] | None:
    found = loads(stored)
    if found is None or found.get("kind") != CONTACTS:
        return None
    contacts: list[dict[str, Any]] = found.get("contacts") or []
    return contacts


def of_message(kind: str, raw: Any) -> tuple[str, str | None]:
    """A webhook message of an attachment type (kinds.ATTACHMENT_TYPES): its attachment as
    stored (JSON) and its caption."""
    stored, caption = from_webhook(kind, raw.get(kind) if isinstance(raw, dict) else None)
    return dumps(stored), caption
