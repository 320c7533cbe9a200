"""Reading Meta's webhook bodies.

Meta batches: one body can hold several entries, each with several changes, each with several
messages and statuses. Everything in a body is read; one malformed item is skipped and reported, it
does not hide its neighbours. Both contact shapes are accepted: with `contacts[].user_id` (the
business-scoped user id, BSUID) and the classic one without it.
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

WHATSAPP_OBJECT = "whatsapp_business_account"


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Metadata(_Lenient):
    phone_number_id: str
    display_phone_number: str | None = None


class Profile(_Lenient):
    name: str | None = None


class Contact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Change(_Lenient):
    field: str
    value: dict[str, Any]


class Entry(_Lenient):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)

    _nulls = field_validator("changes", mode="before")(_none_to_list)


class Envelope(_Lenient):
    object: str
    entry: list[Entry] = Field(default_factory=list)

    _nulls = field_validator("entry", mode="before")(_none_to_list)


class _RawMessage(_Lenient):
    id: str = Field(min_length=1)
    type: str
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    text: dict[str, Any] | None = None


class _RawStatus(_Lenient):
    id: str = Field(min_length=1)
    status: str
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    timestamp: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    biz_opaque_callback_data: Any = None

    _nulls = field_validator("errors", mode="before")(_none_to_list)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a user sent to one of our numbers."""

    wamid: str
    type: str
    phone_number_id: str
    wa_id: str | None
    user_id: str | None
    name: str | None
    text: str | None
    timestamp: str | None

    @property
    def reply_to(self) -> str:
        """Whom to answer: the phone number (wa_id) when Meta gave one, else the BSUID."""
        recipient = self.wa_id or self.user_id
        assert recipient is not None  # guaranteed by parse_body
        return recipient


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """Meta's report on a message we sent: sent, delivered, read or failed."""

    wamid: str
    status: str
    phone_number_id: str
    recipient: str | None
    timestamp: str | None
    error_code: int | None
    error_title: str | None
    # The send's `biz_opaque_callback_data`, which Meta echoes in every status of the message.
    tracker: str | None = None


@dataclass(slots=True)
class ParsedBody:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_envelope(data: Any) -> Envelope:
    """Validate the outer shape; raises ValidationError for something that is not a webhook."""
    return Envelope.model_validate(data)


def parse_body(envelope: Envelope) -> ParsedBody:
    parsed = ParsedBody()
    for entry in envelope.entry:
        for change in entry.changes:
            if change.field != "messages":
                parsed.skipped.append(f"change field {change.field!r} is not handled")
                continue
            _read_change(change.value, parsed)
    return parsed


def _read_change(value: dict[str, Any], parsed: ParsedBody) -> None:
    try:
        metadata = Metadata.model_validate(value.get("metadata"))
    except ValidationError:
        parsed.skipped.append("change without metadata.phone_number_id")
        return
    contacts = _contacts(value.get("contacts"))
    for raw in value.get("messages") or []:
        message = _message(raw, metadata, contacts)
        if isinstance(message, str):
            parsed.skipped.append(message)
        else:
            parsed.messages.append(message)
    for raw in value.get("statuses") or []:
        status = _status(raw, metadata)
        if isinstance(status, str):
            parsed.skipped.append(status)
        else:
            parsed.statuses.append(status)


def _contacts(raw: Any) -> list[Contact]:
    contacts = []
    for item in raw if isinstance(raw, list) else []:
        try:
            contacts.append(Contact.model_validate(item))
        except ValidationError:
            continue
    return contacts


def _sender_contact(message: _RawMessage, contacts: list[Contact]) -> Contact | None:
    for contact in contacts:
        if message.from_ and contact.wa_id == message.from_:
            return contact
        if message.from_user_id and contact.user_id == message.from_user_id:
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _message(raw: Any, metadata: Metadata, contacts: list[Contact]) -> InboundMessage | str:
    try:
        message = _RawMessage.model_validate(raw)
    except ValidationError as exc:
        return f"message skipped: {first_error(exc)}"
    contact = _sender_contact(message, contacts)
    wa_id = message.from_ or (contact.wa_id if contact else None)
    user_id = message.from_user_id or (contact.user_id if contact else None)
    if not wa_id and not user_id:
        return f"message {message.id} skipped: no sender"
    body = (message.text or {}).get("body")
    return InboundMessage(
        wamid=message.id,
        type=message.type,
        phone_number_id=metadata.phone_number_id,
        wa_id=wa_id or None,
        user_id=user_id or None,
        name=contact.profile.name if contact and contact.profile else None,
        text=body if isinstance(body, str) else None,
        timestamp=message.timestamp,
    )


def _status(raw: Any, metadata: Metadata) -> StatusUpdate | str:
    try:
        status = _RawStatus.model_validate(raw)
    except ValidationError as exc:
        return f"status skipped: {first_error(exc)}"
    error = status.errors[0] if status.errors else {}
    code = error.get("code")
    tracker = status.biz_opaque_callback_data
    return StatusUpdate(
        wamid=status.id,
        status=status.status,
        phone_number_id=metadata.phone_number_id,
        recipient=status.recipient_id or status.recipient_user_id,
        timestamp=status.timestamp,
        error_code=code if isinstance(code, int) else None,
        error_title=error.get("title") if isinstance(error.get("title"), str) else None,
        # Longer than Meta allows (512): not one of ours, and no reason to refuse the status.
        tracker=tracker if isinstance(tracker, str) and len(tracker) <= 512 else None,
    )


def first_error(exc: ValidationError, whole: str = "item") -> str:
    """Pydantic's first complaint as `where: what`; `whole` names the value itself."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or whole
    return f"{where}: {error['msg']}"
