"""The channel of each number, kept in this process: every webhook and every reply needs it, and
it changes only when someone edits a channel.

A channel written through this process's API is forgotten at once (`forget`); another process
sees the change once its copy is older than `ttl_seconds` (ROUTER_CHANNEL_CACHE_SECONDS). A
number no channel has is remembered as unknown just as long, and warned about once per process.
"""

import time
from collections.abc import Callable, Iterable

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.channels.repository import NumberRoute, routes_of

log = structlog.get_logger()

# Far more numbers than a deployment has channels; a bound on what unknown numbers can cost.
MAX_ENTRIES = 100_000


class ChannelDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._clock = clock
        self._known: dict[str, tuple[float, NumberRoute | None]] = {}
        self._warned: set[str] = set()

    async def routes(
        self, connection: AsyncConnection, phone_number_ids: Iterable[str]
    ) -> dict[str, NumberRoute | None]:
        """Each number's channel (None: no channel has it); what is not kept here is read on
        `connection`, all in one query."""
        now = self._clock()
        found: dict[str, NumberRoute | None] = {}
        missing = []
        for number in set(phone_number_ids):
            kept = self._known.get(number)
            if kept is not None and kept[0] > now:
                found[number] = kept[1]
            else:
                missing.append(number)
        if missing:
            read = await routes_of(connection, missing)
            if len(self._known) + len(missing) > MAX_ENTRIES:
                self._known.clear()
            for number in missing:
                route = read.get(number)
                self._known[number] = (now + self._ttl, route)
                found[number] = route
        for number, route in found.items():
            if route is None and number not in self._warned and len(self._warned) < MAX_ENTRIES:
                self._warned.add(number)
                log.warning(
                    "webhook.unknown_number",
                    phone_number_id=number,
                    detail="no channel has this number: its messages are kept as unrouted and "
                    "never answered; add it with POST /api/v1/channels",
                )
        return found

    async def route(self, phone_number_id: str) -> NumberRoute | None:
        """One number's channel, read on a connection of its own when it is not kept here."""
        kept = self._known.get(phone_number_id)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        async with self._engine.connect() as connection:
            return (await self.routes(connection, [phone_number_id]))[phone_number_id]

    def learned(self, phone_number_id: str, route: NumberRoute) -> None:
        """What a webhook taught about a number's channel (its WABA id, its display number)."""
        kept = self._known.get(phone_number_id)
        if kept is not None:
            self._known[phone_number_id] = (kept[0], route)

    def forget(self) -> None:
        """Read every number again: a channel was made, edited or deleted here."""
        self._known.clear()
