"""How transient failures are retried: exponential backoff with full jitter, bounded in attempts
and in the message's age (tenacity does the waiting)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from app.core.errors import TransientError
from app.messages.models import utcnow


class stop_when_older(stop_base):
    """Stop once the message is older than its deadline, however few the attempts."""

    def __init__(self, deadline: datetime) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return utcnow() >= self.deadline


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    max_age_seconds: float
    initial_seconds: float
    max_seconds: float

    def retrying(
        self, created_at: datetime, before_sleep: Callable[[RetryCallState], Awaitable[None]]
    ) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            wait=wait_random_exponential(multiplier=self.initial_seconds, max=self.max_seconds),
            stop=stop_any(
                stop_after_attempt(self.max_attempts),
                stop_when_older(created_at + timedelta(seconds=self.max_age_seconds)),
            ),
            before_sleep=before_sleep,
            reraise=True,
        )
