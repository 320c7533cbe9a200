"""Whom an agent answers, the same check for every type: the config's `allowed_contacts`,
`trigger_keywords` and `ignore_groups`. A turn outside it passes to the next agent unasked (no
pattern matched, no model called)."""

from app.agents.base import Agent, Turn
from app.agents.schemas import Audience
from app.core.words import whole_words


class Screened:
    """An agent asked only for the turns its audience holds."""

    def __init__(self, agent: Agent, audience: Audience) -> None:
        self.id = agent.id
        self.kind = agent.kind
        self._agent = agent
        self._allowed = frozenset(audience.allowed_contacts)
        self._triggers = (
            whole_words(audience.trigger_keywords) if audience.trigger_keywords else None
        )
        self._ignore_groups = audience.ignore_groups

    def serves(self, turn: Turn) -> bool:
        if turn.from_group and self._ignore_groups:
            return False
        if self._allowed and turn.contact_id not in self._allowed:
            return False
        return self._triggers is None or self._triggers.search(turn.text) is not None

    async def reply(self, turn: Turn) -> str | None:
        return await self._agent.reply(turn) if self.serves(turn) else None
