"""Reading Meta's webhook bodies.

Meta batches: one body can hold several entries, each with several changes, each with several
messages and statuses. Everything in a body is read; one malformed item is skipped and reported, it
does not hide its neighbours. Both contact shapes are accepted: with `contacts[].user_id` (the
business-scoped user id, BSUID) and the classic one without it.

What comes out can always be stored and sent on. JSON can carry what a database cannot (lone
surrogates, NUL, integers of any size, strings of any length), and one such value used to fail at
store time, after the body had been accepted:
- free text (a message's body, a contact's name, an error's title): lone surrogates and NUL become
  U+FFFD, so the message is still answered; a name is cut to its column's size;
- ids and names of things (wamids, types, statuses, timestamps): printable ASCII within their
  column's size, or the item is skipped with the reason;
- whom a message is from and which number it is to: the shapes Meta gives them (digits for a
  phone_number_id and a wa_id, `CC.<alphanumeric>` for a BSUID), or the item is skipped, since
  they end up in a Graph API call's URL or body;
- an error code outside the 32-bit `Integer` column is dropped (None), the status kept;
- what the router learns about its own numbers (the WABA id, `entry[].id`; the display number)
  and Meta's `system` messages about a contact's new number or BSUID are kept only in the shapes
  Meta gives them; anything else is left out, the message kept.
"""

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from app.channels.models import Channel
from app.media import attachment as attachments
from app.media.kinds import ATTACHMENT_TYPES
from app.messages.models import MAX_TRACKER_LENGTH, Message, StatusEvent

WHATSAPP_OBJECT = "whatsapp_business_account"


def _size(column: Any) -> int:
    """A VARCHAR column's size: PostgreSQL refuses a longer value (SQLite would keep it)."""
    length = column.type.length
    assert isinstance(length, int)
    return length


_messages = Message.__table__.c
_channels = Channel.__table__.c
NAME_MAX = _size(_messages.contact_name)
INT32 = range(-(2**31), 2**31)  # the `Integer` columns (error_code) on PostgreSQL

# Printable ASCII, no space: what Meta's ids, types and timestamps are made of.
_PRINTABLE = r"^[!-~]+$"
Wamid = Annotated[str, StringConstraints(pattern=_PRINTABLE, max_length=_size(_messages.wamid))]
MessageType = Annotated[
    str, StringConstraints(pattern=_PRINTABLE, max_length=_size(_messages.type))
]
StatusName = Annotated[
    str, StringConstraints(pattern=_PRINTABLE, max_length=_size(StatusEvent.__table__.c.status))
]
Timestamp = Annotated[
    str,
    StringConstraints(pattern=_PRINTABLE, max_length=_size(StatusEvent.__table__.c.meta_timestamp)),
]
PhoneNumberId = Annotated[
    str, StringConstraints(pattern=r"^[0-9]+$", max_length=_size(_messages.phone_number_id))
]
WaId = Annotated[str, StringConstraints(pattern=r"^[0-9]+$", max_length=_size(_messages.wa_id))]
# A two-letter country code, then dot-separated alphanumerics: US.13491208655302741918, or a
# parent BSUID, US.ENT.11815799212886844830.
Bsuid = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}(\.[A-Za-z0-9]+)+$", max_length=_size(_messages.user_id)),
]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TRACKER = re.compile(r"[!-~]+")  # printable ASCII, as _PRINTABLE


def _is_tracker(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_TRACKER_LENGTH
        and bool(_TRACKER.fullmatch(value))
    )


def storable_text(text: str) -> str:
    """Free text as it can be stored: lone surrogates (valid in JSON, not in UTF-8) and NUL (refused
    by PostgreSQL) become U+FFFD."""
    if text.isascii():  # the usual case, and no surrogate can hide in it
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    return _UNSTORABLE.sub("\ufffd", text)


def shown(value: str, limit: int = 64) -> str:
    """A value from the body as a reason or a log line may quote it: quoted, ASCII and short."""
    quoted = ascii(value[:limit])
    return quoted if len(quoted) <= limit and len(value) <= limit else quoted[:limit] + "..."


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Metadata(_Lenient):
    phone_number_id: PhoneNumberId
    display_phone_number: Any = None


class Profile(_Lenient):
    name: str | None = None


class Contact(_Lenient):
    wa_id: WaId | None = None
    user_id: Bsuid | None = None
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
    id: Wamid
    type: MessageType
    from_: WaId | None = Field(default=None, alias="from")
    from_user_id: Bsuid | None = None
    timestamp: str | None = None
    text: dict[str, Any] | None = None
    system: dict[str, Any] | None = None


class _RawStatus(_Lenient):
    id: Wamid
    status: StatusName
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    timestamp: Timestamp | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    biz_opaque_callback_data: Any = None

    _nulls = field_validator("errors", mode="before")(_none_to_list)


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """Meta's `system` message that a contact has a new phone number (`user_changed_number`) or a
    new business-scoped user id (`user_changed_user_id`): the contact moves, it is not new."""

    new_wa_id: str | None
    previous_user_id: str | None
    new_user_id: str | None


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
    # The number's WhatsApp Business Account (`entry[].id`) and display number, as the webhook
    # says them: a channel that lacks them learns them.
    waba_id: str | None = None
    display_phone_number: str | None = None
    identity_change: IdentityChange | None = None
    # A file, a location or contacts, as `messages.attachment` stores it (app/media/); its
    # caption is `text`.
    attachment: str | None = None

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
        waba_id = entry.id if _matches(_DIGITS, entry.id, _size(_channels.waba_id)) else None
        for change in entry.changes:
            if change.field != "messages":
                parsed.skipped.append(f"change field {shown(change.field)} is not handled")
                continue
            _read_change(change.value, parsed, waba_id)
    return parsed


def _read_change(value: dict[str, Any], parsed: ParsedBody, waba_id: str | None) -> None:
    try:
        metadata = Metadata.model_validate(value.get("metadata"))
    except ValidationError as exc:
        parsed.skipped.append(f"change skipped: {first_error(exc, 'metadata', 'metadata')}")
        return
    number = _Number(waba_id, _display_number(metadata.display_phone_number))
    contacts = _contacts(value.get("contacts"))
    for raw in _items(value, "messages", parsed):
        message = _message(raw, metadata, contacts, number)
        if isinstance(message, str):
            parsed.skipped.append(message)
        else:
            parsed.messages.append(message)
    for raw in _items(value, "statuses", parsed):
        status = _status(raw, metadata)
        if isinstance(status, str):
            parsed.skipped.append(status)
        else:
            parsed.statuses.append(status)


def _items(value: dict[str, Any], key: str, parsed: ParsedBody) -> list[Any]:
    items = value.get(key)
    if isinstance(items, list):
        return items
    if items is not None:
        parsed.skipped.append(f"value.{key} skipped: not a list")
    return []


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


def _message(
    raw: Any, metadata: Metadata, contacts: list[Contact], number: "_Number"
) -> InboundMessage | str:
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
    attachment = None
    if message.type in ATTACHMENT_TYPES:
        attachment, body = attachments.of_message(message.type, raw)
    name = contact.profile.name if contact and contact.profile else None
    return InboundMessage(
        wamid=message.id,
        type=message.type,
        phone_number_id=metadata.phone_number_id,
        wa_id=wa_id or None,
        user_id=user_id or None,
        name=storable_text(name[:NAME_MAX]) if name else None,
        text=storable_text(body) if isinstance(body, str) else None,
        timestamp=message.timestamp,
        waba_id=number.waba_id,
        display_phone_number=number.display_phone_number,
        identity_change=_identity_change(message),
        attachment=attachment,
    )


@dataclass(frozen=True, slots=True)
class _Number:
    waba_id: str | None
    display_phone_number: str | None


_DIGITS = re.compile(r"[0-9]+")
# What a display number is made of: digits, and the +, spaces, dashes and brackets people write.
_DISPLAY = re.compile(r"[0-9+() -]+")
_BSUID = re.compile(r"[A-Z]{2}(\.[A-Za-z0-9]+)+")


def _matches(pattern: re.Pattern[str], value: Any, max_length: int) -> bool:
    return isinstance(value, str) and len(value) <= max_length and bool(pattern.fullmatch(value))


def _display_number(value: Any) -> str | None:
    if not _matches(_DISPLAY, value, _size(_channels.display_phone_number)):
        return None
    stripped = str(value).strip()
    return stripped or None


def _identity_change(message: _RawMessage) -> IdentityChange | None:
    """The contact's new identifiers, from a `system` message saying they changed.

    `user_changed_number` names the new number in `system.wa_id` (`new_wa_id` in older bodies);
    either kind may name the BSUID before and after (`previous_user_id`, `user_id`).
    """
    system = message.system
    if message.type != "system" or system is None:
        return None
    if system.get("type") not in {"user_changed_number", "user_changed_user_id"}:
        return None
    wa_id_size, user_id_size = _size(_messages.wa_id), _size(_messages.user_id)
    new_wa_id = next(
        (
            v
            for v in (system.get("wa_id"), system.get("new_wa_id"))
            if _matches(_DIGITS, v, wa_id_size)
        ),
        None,
    )
    previous = system.get("previous_user_id")
    new_user_id = system.get("user_id", message.from_user_id)
    change = IdentityChange(
        new_wa_id=new_wa_id if new_wa_id != message.from_ else None,
        previous_user_id=previous if _matches(_BSUID, previous, user_id_size) else None,
        new_user_id=new_user_id if _matches(_BSUID, new_user_id, user_id_size) else None,
    )
    moves_user_id = change.previous_user_id and change.new_user_id
    if change.new_wa_id is None and not moves_user_id:
        return None
    return change


def _status(raw: Any, metadata: Metadata) -> StatusUpdate | str:
    try:
        status = _RawStatus.model_validate(raw)
    except ValidationError as exc:
        return f"status skipped: {first_error(exc)}"
    error = status.errors[0] if status.errors else {}
    code, title = error.get("code"), error.get("title")
    tracker = status.biz_opaque_callback_data
    return StatusUpdate(
        wamid=status.id,
        status=status.status,
        phone_number_id=metadata.phone_number_id,
        recipient=status.recipient_id or status.recipient_user_id,
        timestamp=status.timestamp,
        error_code=code if type(code) is int and code in INT32 else None,
        error_title=storable_text(title) if isinstance(title, str) else None,
        # Not printable ASCII, or longer than Meta allows: not one of ours
        # (app/outbound/trackers.py), and no reason to refuse the status.
        tracker=tracker if _is_tracker(tracker) else None,
    )


def first_error(exc: ValidationError, whole: str = "item", prefix: str = "") -> str:
    """Pydantic's first complaint as `where: what`; `whole` names the value itself, `prefix` is
    put before a field's name."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    where = f"{prefix}.{where}" if prefix and where else where or whole
    return f"{where}: {error['msg']}"
