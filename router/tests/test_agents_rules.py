"""The rule_based agent and the checks on what an agent is saved with, without a database."""

import time

import pytest
from pydantic import TypeAdapter, ValidationError

from app.agents.base import Turn
from app.agents.rule_based import RuleBasedAgent
from app.agents.schemas import AgentIn, RuleBasedConfig

HELLO = {"pattern": "hello|hi|hey", "response": "Hello! How can we help?"}
HOURS = {"pattern": r"open(ing)? hours?", "response": "9 to 5"}


def agent(*rules: dict[str, str], allowed: list[int] | None = None) -> RuleBasedAgent:
    config = RuleBasedConfig.model_validate(
        {"rules": list(rules), "allowed_contacts": allowed or []}
    )
    return RuleBasedAgent(1, config)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("HEY there", HELLO["response"]),  # any case
        ("oh, hi!", HELLO["response"]),  # searched anywhere in the text
        ("your opening hours?", HOURS["response"]),
        ("hi, your opening hours?", HELLO["response"]),  # the first rule that matches
        ("what does it cost", None),  # no match: the next agent answers
    ],
)
def test_the_first_matching_rule_answers(text: str, reply: str | None) -> None:
    assert agent(HELLO, HOURS).answer(text, contact_id=7) == reply


def test_allowed_contacts_limit_whom_it_answers() -> None:
    limited = agent(HELLO, allowed=[7])

    assert limited.answer("hi", contact_id=7) == HELLO["response"]
    assert limited.answer("hi", contact_id=8) is None
    assert limited.answer("hi", contact_id=None) is None


async def test_a_group_message_passes_when_groups_are_ignored() -> None:
    turn = Turn(1, "hi", 7, 1, "r", from_group=True)

    assert await agent(HELLO).reply(turn) is None


def test_a_pattern_that_backtracks_catastrophically_elsewhere_matches_in_linear_time() -> None:
    evil = agent(
        {"pattern": "(a+)+$", "response": "never"}, {"pattern": "(x|x)*y", "response": "n"}
    )
    text = "a" * 100_000 + "!"

    started = time.perf_counter()
    assert evil.answer(text, contact_id=1) is None
    assert evil.answer("x" * 100_000, contact_id=1) is None
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("(unclosed", "missing )"), ("(?=lookahead)", "invalid perl operator"), (r"(a)\1", "escape")],
)
def test_a_bad_pattern_is_refused_naming_its_rule(pattern: str, reason: str) -> None:
    body = {
        "name": "FAQ",
        "agent_type": "rule_based",
        "config": {"rules": [HELLO, {"pattern": pattern, "response": "x"}]},
    }

    with pytest.raises(ValidationError) as refused:
        TypeAdapter(AgentIn).validate_python(body)

    [error] = refused.value.errors()
    assert error["loc"] == ("rule_based", "config", "rules")
    assert "rules[1].pattern" in error["msg"]
    assert reason in error["msg"]
