"""`rule_based`: the response of the first rule whose pattern is found in the text (whom it
answers is every type's check, app/agents/audience.py).

Patterns are RE2 (app/agents/schemas.py): compiled once per process when the channel's agents are
read, and matched in time linear in the text, so no pattern can stall the router."""

from collections.abc import Sequence
from typing import Any

from app.agents.base import Turn
from app.agents.models import AgentType
from app.agents.schemas import RuleBasedConfig, compile_pattern


class RuleBasedAgent:
    kind = AgentType.RULE_BASED.value

    def __init__(self, agent_id: int, config: RuleBasedConfig) -> None:
        self.id = agent_id
        self._rules: Sequence[tuple[Any, str]] = [
            (compile_pattern(rule.pattern), rule.response) for rule in config.rules
        ]

    def answer(self, text: str) -> str | None:
        for pattern, response in self._rules:
            if pattern.search(text) is not None:
                return response
        return None

    async def reply(self, turn: Turn) -> str | None:
        return self.answer(turn.text)
