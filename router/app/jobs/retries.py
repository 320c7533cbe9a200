"""How transient failures are retried: exponential backoff with full jitter, bounded in attempts
and in the message's age (tenacity does the waiting, from the first failure on); `Attempts` runs a
job's call so, keeping the message's lease while it waits."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from app.core.clock import utcnow
from app.core.errors import TransientError
from app.jobs.leases import LeaseRepository
from app.messages.models import MessageRow

log = structlog.get_logger()

T = TypeVar("T")


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


class Attempts:
    """A job's calls that may fail for a while (the Server, an agent, the Graph API): retried by
    the policy, each wait counted on the message and covered by its lease, so no other worker
    takes the message over meanwhile."""

    def __init__(self, policy: RetryPolicy, leases: LeaseRepository, lease_seconds: float) -> None:
        self._policy = policy
        self._leases = leases
        self._lease_seconds = lease_seconds

    async def run(self, message: MessageRow, call: Callable[[], Awaitable[T]]) -> T:
        async def before_sleep(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "message.retrying",
                attempt=state.attempt_number,
                wait=round(wait, 2),
                reason=str(error),
            )
            await self._leases.count_attempt(message.id)
            await self._leases.extend_lease(message.id, wait + self._lease_seconds)

        # The first attempt is a plain call: building tenacity's machinery costs about 70 µs,
        # and almost every call succeeds at once. Once one fails, tenacity takes over with that
        # failure as its first attempt, so the attempts, waits and stops are the same.
        try:
            return await call()
        except TransientError as exc:
            first_failure: TransientError | None = exc
        async for attempt in self._policy.retrying(message.created_at, before_sleep):
            with attempt:
                if first_failure is not None:
                    failed, first_failure = first_failure, None
                    raise failed
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last error")
