"""Each number's sends in this process, for the monitoring API: how many went out in the last
minute, how many waited for the rate limit and how long, and how often Meta answered 130429
(the number's throughput reached).

Per process by design: it costs a dict lookup and a few integer operations per send, and needs
no shared store. The last second's sends across every process are read from the rate limit's own
window instead, where that window is shared (Redis; app/outbound/ratelimit.py).
"""

import time
from dataclasses import dataclass

MINUTE = 60


class NumberSends:
    """One number's counts. The last minute is kept as 60 one-second buckets, each stamped with
    its second, so that a count needs no list of timestamps and a bucket from an earlier minute
    is recognised and started again."""

    __slots__ = ("buckets", "stamps", "throttled", "waited_seconds", "waits")

    def __init__(self) -> None:
        self.buckets = [0] * MINUTE
        self.stamps = [-1] * MINUTE
        self.waits = 0
        self.waited_seconds = 0.0
        self.throttled = 0

    def sent(self, second: int, waited: float | None) -> None:
        index = second % MINUTE
        if self.stamps[index] != second:
            self.stamps[index] = second
            self.buckets[index] = 0
        self.buckets[index] += 1
        if waited is not None:
            self.waits += 1
            self.waited_seconds += waited

    def last_minute(self, second: int) -> int:
        return sum(
            count
            for count, stamp in zip(self.buckets, self.stamps, strict=True)
            if second - MINUTE < stamp <= second
        )


@dataclass(frozen=True, slots=True)
class SendCounts:
    sent_last_minute: int
    waits: int
    waited_seconds: float
    throttled: int


class SendStats:
    def __init__(self) -> None:
        self._numbers: dict[str, NumberSends] = {}

    def _of(self, phone_number_id: str) -> NumberSends:
        number = self._numbers.get(phone_number_id)
        if number is None:
            number = self._numbers[phone_number_id] = NumberSends()
        return number

    def sent(self, phone_number_id: str, waited: float | None = None) -> None:
        """One send's budget was taken; `waited` is how long it waited for it, None if it did
        not have to."""
        self._of(phone_number_id).sent(int(time.monotonic()), waited)

    def throttled(self, phone_number_id: str) -> None:
        """Meta answered a send with 130429."""
        self._of(phone_number_id).throttled += 1

    def numbers(self) -> list[str]:
        return sorted(self._numbers)

    def counts(self, phone_number_id: str) -> SendCounts | None:
        """None for a number this process never sent from."""
        number = self._numbers.get(phone_number_id)
        if number is None:
            return None
        return SendCounts(
            sent_last_minute=number.last_minute(int(time.monotonic())),
            waits=number.waits,
            waited_seconds=number.waited_seconds,
            throttled=number.throttled,
        )
