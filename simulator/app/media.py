"""Media objects, as Meta's Cloud API keeps them: the files a business uploads to send by id, and
the photos, voice notes and files the simulated customers send.

Each object belongs to the business number it was uploaded to or sent to; only that number's token
may look it up or download it (app/media_graph.py). Its download URL is signed and carries its
expiry (`SIMULATOR_MEDIA_URL_SECONDS` after the lookup, 5 minutes as on Meta), so no URL is stored.
Everything is in memory, like the rest of the Simulator: a restart forgets it.
"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from app.errors import GraphError
from app.payloads import new_media_id
from app.store import Hub

SAMPLES = Path(__file__).parent / "samples"
MediaKind = Literal["image", "video", "audio", "document", "sticker"]
MB = 1024 * 1024
KB = 1024

# What WhatsApp takes from a business, by MIME type: the message type it is sent as and the
# largest file. Stickers may be animated (500 KB); a static one must be under 100 KB on Meta.
SUPPORTED: dict[str, tuple[str, int]] = {
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "document",
        100 * MB,
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "document",
        100 * MB,
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("sticker", 500 * KB),
    "video/3gpp": ("video", 16 * MB),
    "video/mp4": ("video", 16 * MB),
}
MAX_UPLOAD_BYTES = max(limit for _, limit in SUPPORTED.values())
# What a customer may send: any file WhatsApp carries, up to its 100 MB for documents.
MAX_CUSTOMER_BYTES = 100 * MB

# The file a simulated customer sends when a test asks for a media type without giving one
# (`{"type": "image"}`): real bytes, so that the Router's fetch and sha256 check pass.
SAMPLE_FILES: dict[str, tuple[str, str]] = {
    "image": ("photo.jpg", "image/jpeg"),
    "video": ("video.mp4", "video/mp4"),
    "audio": ("voice.m4a", "audio/mp4"),
    "document": ("document.pdf", "application/pdf"),
    "sticker": ("sticker.webp", "image/webp"),
}


class MediaUploadError(GraphError):
    code = 131053

    def __init__(self, details: str) -> None:
        super().__init__("(#131053) Media upload error", details)


class MediaUrlError(GraphError):
    """A download URL that is forged, altered or past its expiry: Meta's lookaside answers 404."""

    status_code = 404
    code = 100
    subcode = 33
    error_type = "GraphMethodException"

    def __init__(self) -> None:
        super().__init__(
            "The media URL is not valid or has expired: look the media id up again for a new one."
        )


def base_type(mime_type: str) -> str:
    """`audio/ogg; codecs=opus` -> `audio/ogg`, lower-cased."""
    return mime_type.split(";", 1)[0].strip().lower()


def kind_of_upload(mime_type: str, size: int) -> str:
    """The message type a business file is sent as; Meta's 131053 when WhatsApp refuses it."""
    supported = SUPPORTED.get(base_type(mime_type))
    if supported is None:
        names = ", ".join(sorted(SUPPORTED))
        raise MediaUploadError(
            f"Param file must be a file with one of the following types: {names}. "
            f"Received file of type '{mime_type}'."
        )
    kind, limit = supported
    if size == 0:
        raise MediaUploadError("Param file must not be empty.")
    if size > limit:
        raise MediaUploadError(
            f"Param file must be at most {limit} bytes for {base_type(mime_type)}, "
            f"got {size} bytes."
        )
    return kind


def kind_of_customer_file(mime_type: str) -> MediaKind:
    """How WhatsApp delivers what a customer picked: photos as images, WebP as stickers, videos,
    audio; anything else as a document."""
    base = base_type(mime_type)
    if base in ("image/jpeg", "image/png"):
        return "image"
    if base == "image/webp":
        return "sticker"
    if base in ("video/mp4", "video/3gpp"):
        return "video"
    if base.startswith("audio/"):
        return "audio"
    return "document"


@dataclass
class Media:
    id: str
    phone_number_id: str  # the business number it belongs to
    mime_type: str
    data: bytes = field(repr=False)
    origin: str  # "upload" (the business's) or "customer"
    filename: str | None = None
    created_at: float = field(default_factory=time.time)
    sha256_hex: str = ""

    def __post_init__(self) -> None:
        self.sha256_hex = hashlib.sha256(self.data).hexdigest()

    @property
    def file_size(self) -> int:
        return len(self.data)

    def public(self) -> dict[str, object]:
        """As the control API and the chat page's events show it: everything but the bytes."""
        return {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "mime_type": self.mime_type,
            "sha256": self.sha256_hex,
            "file_size": self.file_size,
            "filename": self.filename,
            "origin": self.origin,
            "created_at": self.created_at,
        }

    @property
    def sha256_base64(self) -> str:
        """As webhooks carry it: the digest in base64, not hex."""
        return base64.b64encode(bytes.fromhex(self.sha256_hex)).decode()


class MediaStore:
    def __init__(self, url_seconds: float, hub: Hub) -> None:
        self.url_seconds = url_seconds
        self.objects: dict[str, Media] = {}
        self._hub = hub  # the chat pages hear of each new object (its name and size for a chip)
        # Signs the download URLs; a new one at each start, so old URLs die with the process.
        self._key = secrets.token_bytes(32)

    def clear(self) -> None:
        self.objects.clear()

    def add(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        origin: str,
        filename: str | None = None,
    ) -> Media:
        media = Media(
            id=new_media_id(),
            phone_number_id=phone_number_id,
            mime_type=mime_type,
            data=data,
            origin=origin,
            filename=filename,
        )
        self.objects[media.id] = media
        if self._hub.listening:
            self._hub.publish("media", media.public())
        return media

    def add_sample(self, phone_number_id: str, kind: str) -> Media:
        name, mime_type = SAMPLE_FILES[kind]
        data = (SAMPLES / name).read_bytes()
        return self.add(phone_number_id, data, mime_type, "customer", filename=name)

    # -- download URLs -----------------------------------------------------------------------

    def _hash(self, media_id: str, expires: int) -> str:
        message = f"{media_id}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def download_url(self, base_url: str, media: Media) -> str:
        expires = int((time.time() + self.url_seconds) * 1000)  # ms: a test may want 0.5 s
        query = urlencode({"mid": media.id, "ext": expires, "hash": self._hash(media.id, expires)})
        return f"{base_url.rstrip('/')}/whatsapp_business/attachments/?{query}"

    def by_url(self, mid: str, ext: str, signature: str) -> Media:
        """The media a download URL names, while it is valid; MediaUrlError otherwise."""
        try:
            expires = int(ext)
        except ValueError:
            raise MediaUrlError() from None
        expected = self._hash(mid, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise MediaUrlError()
        if time.time() * 1000 > expires or mid not in self.objects:
            raise MediaUrlError()
        return self.objects[mid]
