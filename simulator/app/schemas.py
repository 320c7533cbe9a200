"""Request and response bodies of the control API.

The Graph API side takes raw JSON instead, checked the way Meta checks it.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.faults import AppliesTo
from app.store import ContactShape, Delivery, Message

InboundType = Literal[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "button",
]
# "same_bytes": the identical body again; "reserialized": the same JSON, other key order/spacing.
Duplicate = Literal["none", "same_bytes", "reserialized", "both"]
BatchLayout = Literal["one_change", "changes", "entries"]


class UserIn(BaseModel):
    name: str = Field(default="Test User", min_length=1, max_length=100)
    wa_id: str | None = Field(
        default=None, pattern=r"^\d{6,15}$", description="Generated if absent"
    )
    user_id: str | None = Field(default=None, description="The BSUID; generated if absent")
    contact_shape: ContactShape = "bsuid"
    reads: bool = True
    outside_window: bool = False


class UserPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    contact_shape: ContactShape | None = None
    reads: bool | None = None
    outside_window: bool | None = None


class InboundSpec(BaseModel):
    """One message a simulated user sends."""

    type: InboundType = "text"
    text: str | None = Field(
        default=None, description="Text body; caption, emoji or button title for other types"
    )
    content: dict[str, Any] | list[Any] | None = Field(
        default=None, description="Merged over the type's generated object (a list replaces it)"
    )
    context_id: str | None = Field(default=None, description="wamid this message replies to")
    contact_shape: ContactShape | None = Field(default=None, description="Overrides the user's")


BUSINESS_FIELD = Field(
    default=None, description="The business number written to; the default one if absent"
)


class InboundIn(InboundSpec):
    phone_number_id: str | None = BUSINESS_FIELD
    duplicate: Duplicate = "none"


class BatchItem(InboundSpec):
    wa_id: str


class BatchIn(BaseModel):
    phone_number_id: str | None = BUSINESS_FIELD
    messages: list[BatchItem] = Field(min_length=1)
    layout: BatchLayout = "one_change"
    duplicate: Duplicate = "none"


class InboundOut(BaseModel):
    messages: list[Message]
    deliveries: list[Delivery]
    body: Any


class VerifyIn(BaseModel):
    verify_token: str | None = Field(default=None, description="Defaults to the configured one")
    challenge: str | None = Field(default=None, description="Generated if absent")
    mode: str = "subscribe"


class VerifyOut(BaseModel):
    url: str
    status_code: int | None
    body: str
    challenge: str
    echoed: bool
    error: str | None = None


class RawIn(BaseModel):
    body: Any = Field(description="A JSON value, or a string sent as is")
    signature: str | None = Field(default=None, description="Replaces the correct signature")


class ConfigPatch(BaseModel):
    webhook_url: str | None = None
    sent_delay_ms: int | None = Field(default=None, ge=0)
    delivered_delay_ms: int | None = Field(default=None, ge=0)
    read_delay_ms: int | None = Field(default=None, ge=0)
    status_batch_max: int | None = Field(default=None, ge=1)
    status_batch_window_ms: int | None = Field(default=None, ge=0)
    latency_ms: int | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    error_status: int | None = Field(default=None, ge=400, le=599)
    error_code: int | None = None
    error_applies_to: AppliesTo | None = None
    webhook_drop_rate: float | None = Field(default=None, ge=0, le=1)
    webhook_duplicate_rate: float | None = Field(default=None, ge=0, le=1)
    statuses_out_of_order: bool | None = None


class FailNextIn(BaseModel):
    count: int = Field(default=1, ge=1, le=1000)
    status: int = Field(default=500, ge=400, le=599)
    code: int = 131000
    applies_to: AppliesTo = "send"
