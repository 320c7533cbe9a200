"""When a schedule runs: cron expressions (cronsim) read in an IANA time zone (zoneinfo, with the
tzdata package where the system has no zone database). Times in the store are naive UTC."""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from cronsim import CronSim, CronSimError

# Five fields (minute hour day-of-month month day-of-week), as the API takes them: cronsim also
# reads a sixth (seconds), which a schedule polled every second or so has no use for.
CRON_FIELDS = 5


@cache
def _zones() -> frozenset[str]:
    # `localtime` is the machine's own zone, not an IANA name: a schedule must not move with it.
    return frozenset(available_timezones() - {"localtime"})


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError naming it when there is none."""
    if name not in _zones():
        raise ValueError(f"unknown time zone {name!r}: an IANA name such as Europe/Paris or UTC")
    return ZoneInfo(name)


def check_cron(expression: str) -> str:
    """`expression` when it is a cron expression of five fields that runs at some time; else
    ValueError naming it and what is wrong."""
    fields = expression.split()
    if len(fields) != CRON_FIELDS:
        raise ValueError(
            f"bad cron expression {expression!r}: five fields (minute hour day-of-month month "
            f"day-of-week), not {len(fields)}"
        )
    try:
        next(CronSim(" ".join(fields), datetime(2000, 1, 1)))
    except CronSimError as exc:
        raise ValueError(f"bad cron expression {expression!r}: {exc}") from None
    except (StopIteration, OverflowError):
        raise ValueError(f"bad cron expression {expression!r}: it never runs") from None
    return " ".join(fields)


def next_cron_run(expression: str, timezone: str, after: datetime) -> datetime | None:
    """The first time of `expression`, read in `timezone`, after `after` (naive UTC); naive UTC,
    or None when it has no further time."""
    local = after.replace(tzinfo=UTC).astimezone(zone(timezone))
    try:
        found = next(CronSim(expression, local))
    except (StopIteration, OverflowError):
        return None
    return found.astimezone(UTC).replace(tzinfo=None)


def to_utc(moment: datetime, timezone: str) -> datetime:
    """`moment` as naive UTC; a moment without an offset is read in `timezone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)
