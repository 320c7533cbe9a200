"""Run-time behaviour: status delays and the faults a test or a demo turns on.

Settings give the defaults; `PATCH /sim/config` changes them while running and `/sim/reset` puts the
defaults back. Forced failures (`fail_next`) are a queue, so a test gets exactly N of them.
"""

import random
from collections import deque
from typing import Literal

from pydantic import BaseModel, Field

from app.errors import InjectedError
from app.settings import Settings

AppliesTo = Literal["send", "read", "media", "any"]
# A faulted request is a send (a message to a user), a read (mark-as-read / typing indicator) or a
# media call (an upload, a URL lookup, a download).
RequestKind = Literal["send", "read", "media"]


class Behaviour(BaseModel):
    webhook_url: str
    sent_delay_ms: int = Field(ge=0)
    delivered_delay_ms: int = Field(ge=0)
    read_delay_ms: int = Field(ge=0)
    status_batch_max: int = Field(ge=1)
    status_batch_window_ms: int = Field(ge=0)
    latency_ms: int = Field(ge=0)
    error_rate: float = Field(ge=0, le=1)
    error_status: int = Field(ge=400, le=599)
    error_code: int
    error_applies_to: AppliesTo = "send"
    webhook_drop_rate: float = Field(ge=0, le=1)
    webhook_duplicate_rate: float = Field(ge=0, le=1)
    statuses_out_of_order: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "Behaviour":
        return cls(
            webhook_url=settings.simulator_webhook_url,
            sent_delay_ms=settings.simulator_sent_delay_ms,
            delivered_delay_ms=settings.simulator_delivered_delay_ms,
            read_delay_ms=settings.simulator_read_delay_ms,
            status_batch_max=settings.simulator_status_batch_max,
            status_batch_window_ms=settings.simulator_status_batch_window_ms,
            latency_ms=settings.simulator_latency_ms,
            error_rate=settings.simulator_error_rate,
            error_status=settings.simulator_error_status,
            error_code=settings.simulator_error_code,
            webhook_drop_rate=settings.simulator_webhook_drop_rate,
            webhook_duplicate_rate=settings.simulator_webhook_duplicate_rate,
            statuses_out_of_order=settings.simulator_statuses_out_of_order,
        )


class ForcedFailure(BaseModel):
    status: int = Field(default=500, ge=400, le=599)
    code: int = 131000
    applies_to: AppliesTo = "send"


def _applies(applies_to: AppliesTo, kind: RequestKind) -> bool:
    return applies_to in ("any", kind)


class Faults:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.behaviour = Behaviour.from_settings(settings)
        self.forced: deque[ForcedFailure] = deque()
        # Not for security: it only decides which requests a fault hits.
        self._random = random.Random()  # noqa: S311

    def reset(self) -> None:
        self.behaviour = Behaviour.from_settings(self._settings)
        self.forced.clear()

    def failure_for(self, kind: RequestKind) -> InjectedError | None:
        """The injected error this request gets, if any: forced ones first, then the error rate."""
        for failure in self.forced:
            if _applies(failure.applies_to, kind):
                self.forced.remove(failure)
                return InjectedError(failure.status, failure.code)
        b = self.behaviour
        if (
            b.error_rate
            and _applies(b.error_applies_to, kind)
            and self._random.random() < b.error_rate
        ):
            return InjectedError(b.error_status, b.error_code)
        return None

    def drop_webhook(self) -> bool:
        rate = self.behaviour.webhook_drop_rate
        return bool(rate) and self._random.random() < rate

    def duplicate_webhook(self) -> bool:
        rate = self.behaviour.webhook_duplicate_rate
        return bool(rate) and self._random.random() < rate
