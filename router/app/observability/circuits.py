"""A circuit breaker as an operator sees it: its state, and what changes it next."""

from dataclasses import dataclass
from datetime import UTC, datetime

from purgatory.domain.model import Context

from app.observability.metrics import CIRCUIT_STATES, CircuitState


@dataclass(frozen=True, slots=True)
class CircuitView:
    name: str
    state: CircuitState
    # Failures in a row so far (closed), and how many open it.
    failures: int
    threshold: int
    ttl_seconds: float
    opened_at: datetime | None
    # Open: when the next call goes through, as a trial that closes the circuit or opens it again.
    half_opens_at: datetime | None
    # Closed: how many more failures in a row open it.
    opens_after_failures: int | None


def circuit_view(context: Context, now: float) -> CircuitView:
    """What purgatory's `context` says at `now` (a `time.time()`)."""
    state = CIRCUIT_STATES.get(context.state, "open")
    opened_at = context.opened_at if state != "closed" else None
    half_opens_at = opened_at + context.ttl if state == "open" and opened_at else None
    if half_opens_at is not None and now >= half_opens_at:
        # purgatory half-opens a breaker lazily, on the next call, which it lets through as the
        # trial: from the pause's end on, that is where it stands.
        state = "half_open"
    failures = (context.failure_count or 0) if state == "closed" else 0
    return CircuitView(
        name=context.name,
        state=state,
        failures=failures,
        threshold=context.threshold,
        ttl_seconds=context.ttl,
        opened_at=_utc(opened_at),
        half_opens_at=_utc(half_opens_at) if state == "open" else None,
        opens_after_failures=max(context.threshold - failures, 1) if state == "closed" else None,
    )


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
