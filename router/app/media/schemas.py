"""A message's `media`, `location` and `contacts` as the API shows them."""

from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field

MediaKind = Literal["image", "video", "audio", "document", "sticker"]
MediaState = Literal["pending", "stored", "failed"]


class MediaOut(BaseModel):
    kind: MediaKind
    mime_type: str | None
    file_size: int | None = Field(description="in bytes, once stored")
    filename: str | None = Field(description="a document's name, cleaned of path parts")
    caption: str | None
    sha256: str | None = Field(description="hex; the bytes' own once stored")
    state: MediaState = Field(
        description="pending: not fetched (or uploaded) yet; stored: `url` serves it; failed: "
        "`error` says why"
    )
    error: str | None
    url: str = Field(description="GET it (with a key, a token or `?ticket=`) for the bytes")


class LocationOut(BaseModel):
    latitude: float | None
    longitude: float | None
    name: str | None
    address: str | None


class PhoneOut(BaseModel):
    phone: str
    wa_id: str | None
    type: str | None = Field(description="as the sender labelled it: CELL, HOME, WORK, ...")


class SharedContact(BaseModel):
    name: str | None = Field(description="the card's formatted name")
    phones: list[PhoneOut]


# WhatsApp's limit for a file's caption.
MAX_CAPTION = 1024


class MediaIn(BaseModel):
    """A file Meta fetches from a public link (https or http), sent with its kind."""

    model_config = {"extra": "forbid"}

    kind: MediaKind
    link: AnyHttpUrl = Field(max_length=2000, description="a public URL Meta can fetch")
    caption: str | None = Field(default=None, min_length=1, max_length=MAX_CAPTION)
    filename: str | None = Field(
        default=None, min_length=1, max_length=200, description="a document's name"
    )


class FileForm(BaseModel):
    """The text fields of a multipart form sending a file (`file`, the form's file part)."""

    model_config = {"extra": "forbid"}

    caption: str | None = Field(default=None, min_length=1, max_length=MAX_CAPTION)


FILE_FIELD = {"type": "string", "format": "binary", "description": "the file (required)"}
CAPTION_FIELD = {"type": "string", "minLength": 1, "maxLength": MAX_CAPTION}
