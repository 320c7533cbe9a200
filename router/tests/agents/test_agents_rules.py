"""The rule_based agent, whom agents answer, and the checks on what an agent is saved with,
without a database."""

import time

import pytest
from pydantic import TypeAdapter, ValidationError

from app.agents.audience import Screened
from app.agents.base import Turn
from app.agents.rule_based import RuleBasedAgent
from app.agents.schemas import AgentIn, RuleBasedConfig

HELLO = {"pattern": "hello|hi|hey", "response": "Hello! How can we help?"}
HOURS = {"pattern": r"open(ing)? hours?", "response": "9 to 5"}


def agent(*rules: dict[str, str], **audience: object) -> RuleBasedAgent:
    return RuleBasedAgent(1, RuleBasedConfig.model_validate({"rules": list(rules)} | audience))


def screened(*rules: dict[str, str], **audience: object) -> Screened:
    """The agent as the message path asks it: behind its config's audience."""
    config = RuleBasedConfig.model_validate({"rules": list(rules)} | audience)
    return Screened(RuleBasedAgent(1, config), config)


def turn(text: str, contact_id: int | None = 7, from_group: bool = False) -> Turn:
    return Turn(1, text, contact_id, 1, "r", from_group=from_group)


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
    assert agent(HELLO, HOURS).answer(text) == reply


async def test_allowed_contacts_limit_whom_it_answers() -> None:
    limited = screened(HELLO, allowed_contacts=[7])

    assert await limited.reply(turn("hi", contact_id=7)) == HELLO["response"]
    assert await limited.reply(turn("hi", contact_id=8)) is None
    assert await limited.reply(turn("hi", contact_id=None)) is None


async def test_trigger_keywords_limit_what_it_answers() -> None:
    triggered = screened({"pattern": ".", "response": "yes"}, trigger_keywords=["help", "Price"])

    assert await triggered.reply(turn("I need HELP")) == "yes"
    assert await triggered.reply(turn("the price?")) == "yes"
    assert await triggered.reply(turn("helpful, but no keyword")) is None  # whole words only


async def test_a_group_message_passes_when_groups_are_ignored() -> None:
    assert await screened(HELLO).reply(turn("hi", from_group=True)) is None
    both = screened(HELLO, ignore_groups=False)
    assert await both.reply(turn("hi", from_group=True)) == HELLO["response"]


def test_a_pattern_that_backtracks_catastrophically_elsewhere_matches_in_linear_time() -> None:
    evil = agent(
        {"pattern": "(a+)+$", "response": "never"}, {"pattern": "(x|x)*y", "response": "n"}
    )
    text = "a" * 100_000 + "!"

    started = time.perf_counter()
    assert evil.answer(text) is None
    assert evil.answer("x" * 100_000) is None
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
