"""The kinds of media WhatsApp carries, the sizes and types it allows, and what a file's first
bytes say it is."""

import re
import unicodedata

MB = 1024 * 1024

# Meta's limits per kind (the Cloud API's "supported media types"): a bigger file is not fetched.
MAX_BYTES = {
    "image": 5 * MB,
    "video": 16 * MB,
    "audio": 16 * MB,
    "document": 100 * MB,
    "sticker": 500 * 1024,
}
MEDIA_KINDS = frozenset(MAX_BYTES)
# Non-file messages kept with their fields.
LOCATION = "location"
CONTACTS = "contacts"
ATTACHMENT_TYPES = MEDIA_KINDS | {LOCATION, CONTACTS}
# The kinds whose caption Meta carries (audio and stickers have none).
CAPTIONED = frozenset({"image", "video", "document"})

# What a member may send, by MIME type: WhatsApp's own list. A type names its kind.
ALLOWED_TYPES = {
    "image/jpeg": "image",
    "image/png": "image",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "video/mp4": "video",
    "video/3gpp": "video",
    "image/webp": "sticker",
    "text/plain": "document",
    "application/pdf": "document",
    "application/msword": "document",
    "application/vnd.ms-excel": "document",
    "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
}

# The first bytes of each image type: a file that says it is an image must start so.
_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


def base_type(content_type: str | None) -> str:
    """`type/subtype` of a Content-Type, lower-cased, without its parameters (`; codecs=opus`)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def matches_signature(mime_type: str, head: bytes) -> bool:
    """Whether a file's first bytes agree with the image type it claims (other types pass: their
    containers vary too much to judge by a prefix). A WebP sticker is RIFF....WEBP."""
    if mime_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    prefixes = _SIGNATURES.get(mime_type)
    return prefixes is None or head.startswith(prefixes)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/;]')
MAX_FILENAME = 200


def safe_filename(name: str | None) -> str | None:
    """A file's name as it may be shown and sent: its last path part, without control characters,
    quotes, slashes or semicolons, at most MAX_FILENAME characters; None when nothing is left. It
    is never used as a path."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:MAX_FILENAME] or None
