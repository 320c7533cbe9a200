"""Status webhooks for the messages the Router sends: sent, delivered and read, after their delays.

Meta batches statuses under load, and so does this: a timer per batch window, not a task per
message. The statuses due in the same window (`status_batch_window_ms`; with 0, those due in the
same turn of the event loop) go out together: one signed body per business number, with one entry
and one change whose `value.statuses` holds them, at most `status_batch_max` to a body. At low load
a body carries one status. A message's next status is scheduled once the body carrying its previous
one is out (delivered, failed or dropped) and counted from then, so one message's statuses never
overtake each other unless `statuses_out_of_order` turns them round.
"""

import asyncio
import contextlib
import math
from dataclasses import dataclass

from app.businesses import Businesses
from app.delivery import WebhookSender
from app.faults import Faults
from app.payloads import dumps, envelope, status_value
from app.store import Message, MessageStatus, Store, User, now


@dataclass(slots=True)
class Flow:
    """One message's statuses; `order[step]` is the next to go out."""

    message: Message
    user: User
    order: list[MessageStatus]
    step: int = 0


class StatusScheduler:
    def __init__(
        self, businesses: Businesses, store: Store, faults: Faults, sender: WebhookSender
    ) -> None:
        self._businesses = businesses
        self._store = store
        self._faults = faults
        self._sender = sender
        # Flows waiting for their window, keyed by the window's end on the loop's clock.
        self._windows: dict[float, list[Flow]] = {}
        self._timers: dict[float, asyncio.TimerHandle] = {}
        self._ready: list[Flow] = []
        self._ready_scheduled = False
        self._sending: set[asyncio.Task[None]] = set()
        self._pending = 0  # statuses not yet out
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return self._pending

    def start(self, message: Message, user: User) -> None:
        """Schedule a sent message's statuses: sent, delivered, and read if the user reads."""
        order: list[MessageStatus] = ["sent", "delivered"]
        if user.reads:
            order.append("read")
        if self._faults.behaviour.statuses_out_of_order:
            order.reverse()
        self._pending += len(order)
        self._idle.clear()
        self._schedule(Flow(message, user, order))

    async def flush(self, seconds: float) -> int:
        """Wait until every scheduled status is out (or `seconds` pass); return how many are not."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        return self._pending

    async def cancel_all(self) -> None:
        """Forget every scheduled status and stop the bodies being delivered (reset, shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._windows.clear()
        self._ready.clear()
        self._pending = 0
        self._idle.set()
        sending = set(self._sending)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)

    def _schedule(self, flow: Flow) -> None:
        b = self._faults.behaviour
        delay_ms = (b.sent_delay_ms, b.delivered_delay_ms, b.read_delay_ms)[flow.step]
        loop = asyncio.get_running_loop()
        at = loop.time() + delay_ms / 1000
        if b.status_batch_window_ms:
            window = b.status_batch_window_ms / 1000
            at = math.ceil(at / window) * window
        flows = self._windows.get(at)
        if flows is None:
            flows = self._windows[at] = []
            self._timers[at] = loop.call_at(at, self._window_ends, at)
        flows.append(flow)

    def _window_ends(self, at: float) -> None:
        del self._timers[at]
        self._ready.extend(self._windows.pop(at))
        # Windows that end in the same turn of the loop share their bodies: sent once they all ran.
        if not self._ready_scheduled:
            self._ready_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_ready)

    def _send_ready(self) -> None:
        self._ready_scheduled = False
        ready, self._ready = self._ready, []
        size = self._faults.behaviour.status_batch_max
        # A body speaks for one business number: its metadata, its WABA's entry.
        by_number: dict[str, list[Flow]] = {}
        for flow in ready:
            by_number.setdefault(flow.message.phone_number_id, []).append(flow)
        for flows in by_number.values():
            for start in range(0, len(flows), size):
                task = asyncio.create_task(self._send(flows[start : start + size]))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _send(self, flows: list[Flow]) -> None:
        timestamp = int(now())
        statuses: list[tuple[Message, User, MessageStatus]] = []
        for flow in flows:
            status = flow.order[flow.step]
            self._store.set_status(flow.message, status)
            statuses.append((flow.message, flow.user, status))
        business = self._businesses[flows[0].message.phone_number_id]
        body = envelope(business, [[status_value(business, statuses, timestamp)]])
        wamids = list(dict.fromkeys(flow.message.wamid for flow in flows))
        try:
            await self._sender.deliver("status", dumps(body), wamids)
        except Exception:
            # A bug, not the Router (the delivery records that): these flows end here.
            self._finished(sum(len(flow.order) - flow.step for flow in flows))
            raise
        self._finished(len(flows))
        for flow in flows:
            flow.step += 1
            if flow.step < len(flow.order):
                self._schedule(flow)

    def _finished(self, statuses: int) -> None:
        self._pending = max(0, self._pending - statuses)
        if not self._pending:
            self._idle.set()
