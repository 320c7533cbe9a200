"""Each channel's agents, kept in this process like the channel directory: every inbound text
needs them, and they change only when someone edits an agent.

An edit through this process's API is seen at once (`forget`); another process sees it once its
copy is older than `ttl_seconds` (ROUTER_CHANNEL_CACHE_SECONDS). Agents are built when read:
patterns compiled once, not per message.
"""

import time
from collections.abc import Callable, Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents.base import Agent
from app.agents.repository import AgentRow, agents_of_channels

log = structlog.get_logger()

MAX_ENTRIES = 100_000

Build = Callable[[AgentRow], Agent]


class AgentDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        ttl_seconds: float,
        build: Build,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._build = build
        self._clock = clock
        self._known: dict[int, tuple[float, Sequence[Agent]]] = {}

    async def agents(self, channel_id: int) -> Sequence[Agent]:
        """The channel's agents in the order they are asked."""
        now = self._clock()
        kept = self._known.get(channel_id)
        if kept is not None and kept[0] > now:
            return kept[1]
        async with self._engine.connect() as connection:
            rows = (await agents_of_channels(connection, [channel_id]))[channel_id]
        agents = []
        for row in rows:
            try:
                agents.append(self._build(row))
            except Exception:
                # A config saved before a check it no longer passes: that agent is skipped.
                log.exception("agents.unusable", agent_id=row.id, agent_type=row.agent_type)
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()
        self._known[channel_id] = (now + self._ttl, tuple(agents))
        return self._known[channel_id][1]

    def forget(self) -> None:
        """Read every channel's agents again: one was made, edited or deleted here."""
        self._known.clear()
