"""When a schedule runs: cron times read in an IANA zone, across daylight saving time."""

from datetime import datetime

import pytest

from app.schedules import timing


def test_cron_times_follow_the_zones_clock_across_daylight_saving_time() -> None:
    # 9:00 in Paris is 8:00 UTC in winter and 7:00 UTC in summer (the clocks moved on 29 March).
    before = timing.next_cron_run("0 9 * * *", "Europe/Paris", datetime(2026, 3, 28, 9, 0))
    after = timing.next_cron_run("0 9 * * *", "Europe/Paris", datetime(2026, 3, 29, 8, 0))

    assert before == datetime(2026, 3, 29, 7, 0)
    assert after == datetime(2026, 3, 30, 7, 0)


def test_the_next_run_is_after_the_given_time_never_at_it() -> None:
    assert timing.next_cron_run("*/15 * * * *", "UTC", datetime(2026, 1, 1, 10, 15)) == datetime(
        2026, 1, 1, 10, 30
    )


def test_a_time_without_an_offset_is_read_in_the_zone() -> None:
    assert timing.to_utc(datetime(2026, 7, 1, 9, 0), "America/New_York") == datetime(
        2026, 7, 1, 13, 0
    )


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * * *", "five fields"),
        ("* * * * * *", "five fields"),
        ("60 * * * *", "Bad minute"),
        ("0 0 31 4 *", "Bad day-of-month"),
    ],
)
def test_a_bad_cron_expression_is_named_with_what_is_wrong(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        timing.check_cron(expression)
    assert repr(expression) in str(raised.value)


def test_only_iana_zones_are_zones() -> None:
    assert timing.zone("Asia/Tokyo").key == "Asia/Tokyo"
    for name in ("localtime", "Mars/Olympus", "../etc/passwd"):
        with pytest.raises(ValueError, match="unknown time zone"):
            timing.zone(name)
