import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    MISSING,
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.core.ids import IdField
from app.core.schemas import Input, Output, UtcDateTime, not_blank
from app.messages.schemas import MAX_TEXT, PhoneNumber
from app.schedules import timing
from app.schedules.models import ScheduleStatus
from app.templates.schemas import TemplateIn

# Recipients of one schedule: each run stores and sends one message per recipient.
MAX_RECIPIENTS = 100

# A contact's id (a JSON integer), or a phone number (a JSON string: its wa_id, a leading +
# allowed), as POST /api/v1/messages takes them: a number that never wrote becomes a contact,
# whose 24-hour window is closed.
Recipient = IdField | PhoneNumber
Text = Annotated[str, not_blank(MAX_TEXT)]
# Five fields of printable characters; what each field means is cronsim's to check.
Cron = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^ *[!-~]+( +[!-~]+){4} *$"),
    AfterValidator(timing.check_cron),
]
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$"),
    AfterValidator(lambda name: timing.zone(name) and name),
]
# ISO 8601 as the schema says it, checked before pydantic reads it (which would also take a
# number of seconds since 1970, or a date alone).
ISO_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(ISO_TIME, value):
        raise ValueError("an ISO 8601 time, such as 2026-12-01T09:00:00+01:00")
    return value


SendAt = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": ISO_TIME,
            "description": "ISO 8601; without an offset it is read in `timezone`",
        },
        mode="validation",
    ),
]


def _exactly_one(*fields: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [field]} for field in fields]}


def _not_both(*fields: str) -> dict[str, Any]:
    return {"not": {"required": list(fields)}}


def _in_range(send_at: datetime, timezone: str) -> None:
    try:
        timing.to_utc(send_at, timezone)
    except OverflowError:
        raise ValueError(f"send_at: {send_at.isoformat()} is out of range") from None


class ScheduleIn(Input):
    """What to send, to whom, and when: `text` or `template`; `send_at` or `cron`."""

    # The schema says what the validator below checks, so a client (or a fuzzer) sees it.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [_exactly_one("text", "template"), _exactly_one("send_at", "cron")]
        }
    )

    channel_id: IdField
    to: Recipient | Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    text: Text | MISSING = MISSING
    template: TemplateIn | MISSING = MISSING
    send_at: SendAt | MISSING = MISSING
    cron: Cron | MISSING = MISSING
    timezone: TimeZone = "UTC"

    @model_validator(mode="after")
    def _one_of_each(self) -> "ScheduleIn":
        if (self.text is MISSING) == (self.template is MISSING):
            raise ValueError("text or template: give exactly one of them")
        if (self.send_at is MISSING) == (self.cron is MISSING):
            raise ValueError("send_at or cron: give exactly one of them")
        if self.send_at is not MISSING:
            _in_range(self.send_at, self.timezone)
        return self

    @property
    def recipients(self) -> list[int | str]:
        return list(self.to) if isinstance(self.to, list) else [self.to]


class SchedulePatch(Input):
    """The fields to change. `text` replaces a template and `template` a text; `send_at`
    replaces a cron schedule and `cron` a time. The next run is computed again."""

    model_config = ConfigDict(
        json_schema_extra={"allOf": [_not_both("text", "template"), _not_both("send_at", "cron")]}
    )

    to: (
        Recipient
        | Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)]
        | (MISSING)
    ) = MISSING
    text: Text | MISSING = MISSING
    template: TemplateIn | MISSING = MISSING
    send_at: SendAt | MISSING = MISSING
    cron: Cron | MISSING = MISSING
    timezone: TimeZone | MISSING = MISSING

    @model_validator(mode="after")
    def _not_two_of_a_kind(self) -> "SchedulePatch":
        if self.text is not MISSING and self.template is not MISSING:
            raise ValueError("text or template: give at most one of them")
        if self.send_at is not MISSING and self.cron is not MISSING:
            raise ValueError("send_at or cron: give at most one of them")
        if self.send_at is not MISSING:
            _in_range(self.send_at, "UTC" if self.timezone is MISSING else self.timezone)
        return self

    @property
    def recipients(self) -> list[int | str] | None:
        if self.to is MISSING:
            return None
        return list(self.to) if isinstance(self.to, list) else [self.to]


class ScheduledMessageOut(Output):
    """A message a run sent (or refused to send), as its status stands now."""

    id: int = Field(description="the message's id (GET /api/v1/messages/{id})")
    contact_id: int
    conversation_id: int | None
    due_at: UtcDateTime = Field(description="the run it belongs to")
    status: str
    error_code: int | None
    error_title: str | None
    wamid: str | None


class ScheduleOut(Output):
    id: int
    channel_id: int
    to: list[int] = Field(description="the recipients' contact ids")
    text: str | None
    template: dict[str, Any] | None
    send_at: UtcDateTime | None
    cron: str | None
    timezone: str
    status: ScheduleStatus
    next_run_at: UtcDateTime | None
    last_run_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    messages: list[ScheduledMessageOut] = Field(
        description="the messages of its most recent runs, newest first"
    )
