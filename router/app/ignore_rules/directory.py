"""Each tenant's ignore rules, kept in this process like the channel directory: every inbound
message is checked against them, and they change only when someone edits one.

A rule made or deleted through this process's API is seen at once (`forget`); another process
sees it once its copy is older than `ttl_seconds` (ROUTER_CHANNEL_CACHE_SECONDS).
"""

import time
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.words import whole_words
from app.ignore_rules.models import RuleType
from app.ignore_rules.repository import rules_of_tenant
from app.routing.decide import IgnoreRuleFact

MAX_ENTRIES = 100_000


class IgnoreRuleDirectory:
    def __init__(
        self, engine: AsyncEngine, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._clock = clock
        self._known: dict[int, tuple[float, Sequence[tuple[int | None, IgnoreRuleFact]]]] = {}

    async def rules(self, tenant_id: int, channel_id: int | None) -> list[IgnoreRuleFact]:
        """The rules that apply to a message of the tenant's channel, by id."""
        now = self._clock()
        kept = self._known.get(tenant_id)
        if kept is None or kept[0] <= now:
            async with self._engine.connect() as connection:
                rows = await rules_of_tenant(connection, tenant_id)
            facts = tuple(
                (
                    row.channel_id,
                    IgnoreRuleFact(
                        row.id,
                        row.rule_type,
                        row.value,
                        whole_words([row.value]) if row.rule_type == RuleType.KEYWORD else None,
                    ),
                )
                for row in rows
            )
            if len(self._known) >= MAX_ENTRIES:
                self._known.clear()
            kept = self._known[tenant_id] = (now + self._ttl, facts)
        return [fact for channel, fact in kept[1] if channel is None or channel == channel_id]

    def forget(self) -> None:
        """Read every tenant's rules again: one was made or deleted here."""
        self._known.clear()
