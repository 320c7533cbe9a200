"""Trackers: which reply part a status webhook is about, even when its wamid was never stored.

Every part is sent with a tracker (PyWA's `tracker`, Meta's `biz_opaque_callback_data`), stored
before the send starts, and Meta echoes it in every status webhook of the message it created. A
router that dies after the Graph API accepted a part and before the wamid was stored leaves a
pending part with a tracker; the job that resumes it waits a while for a status carrying that
tracker and adopts its wamid instead of sending the part a second time.
"""

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Sequence

import structlog

log = structlog.get_logger()

# Finds, for each tracker given, the wamid of a status webhook that carried it.
Find = Callable[[Sequence[str]], Awaitable[dict[str, str]]]


def new_tracker(inbound_id: int, part: int) -> str:
    """Name a reply part (its message and its index) and this send of it.

    A replayed part is a new message at Meta and gets a new tracker, so the statuses of the send
    that failed are never taken for the replay's.
    """
    return f"{inbound_id}.{part}.{secrets.token_hex(6)}"


class TrackerWatch:
    """Waits for status webhooks carrying given trackers.

    Status webhooks may reach any router process, so the store is asked, not this process's
    memory. One query per tick serves every waiting part: a crash can leave as many parts behind as
    there were sends in flight.
    """

    def __init__(self, find: Find, interval: float = 0.25) -> None:
        self._find = find
        self._interval = interval
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def wamid_for(self, tracker: str, within: float) -> str | None:
        """The wamid a status webhook names for `tracker`, if one is stored `within` seconds."""
        found = await self._find([tracker])
        if tracker in found or within <= 0:
            return found.get(tracker)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tracker, []).append(future)
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="tracker-watch")
        try:
            async with asyncio.timeout(within):
                return await future
        except TimeoutError:
            return None
        finally:
            waiting = self._waiters.get(tracker, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(tracker, None)

    async def aclose(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def _poll(self) -> None:
        try:
            while self._waiters:
                await asyncio.sleep(self._interval)
                if not self._waiters:
                    break
                try:
                    found = await self._find(list(self._waiters))
                except Exception:
                    log.exception("trackers.lookup_failed")
                    continue
                for tracker, wamid in found.items():
                    for future in self._waiters.pop(tracker, []):
                        if not future.done():
                            future.set_result(wamid)
        finally:
            self._poller = None
