"""The routing decision, without a database: blocked, then an ignore rule, then handed over, then
not a text, then the channel's agents."""

import pytest

from app.core.words import whole_words
from app.routing.decide import Decision, Facts, IgnoreRuleFact, Route, decide

MEMBER = 7


@pytest.mark.parametrize(
    ("facts", "route"),
    [
        (Facts("text", "hi"), Route.AGENT),
        (Facts("image", None), Route.IGNORED),
        (Facts("text", None), Route.IGNORED),  # a text without a body: nothing to answer
        (Facts("system", None), Route.IGNORED),
        (Facts("text", "hi", owner_member_id=MEMBER), Route.HANDED_OVER),
        (Facts("image", None, owner_member_id=MEMBER), Route.HANDED_OVER),  # shown to the member
        (Facts("text", "hi", contact_blocked=True), Route.BLOCKED),
        (Facts("image", None, contact_blocked=True), Route.BLOCKED),
        # A blocked contact stays blocked whoever owns the conversation.
        (Facts("text", "hi", contact_blocked=True, owner_member_id=MEMBER), Route.BLOCKED),
    ],
)
def test_the_decision(facts: Facts, route: Route) -> None:
    assert decide(facts).route is route


def test_each_route_but_the_agent_names_the_status_its_message_ends_in() -> None:
    from app.messages.models import InboundStatus
    from app.routing.pipeline import UNANSWERED

    assert {route for route in Route if route is not Route.AGENT} == set(UNANSWERED)
    assert {status.value for status in UNANSWERED.values()} <= {s.value for s in InboundStatus}


CONTACT = 5


def rule(id_: int, rule_type: str, value: str) -> IgnoreRuleFact:
    words = whole_words([value]) if rule_type == "keyword" else None
    return IgnoreRuleFact(id_, rule_type, value, words)


@pytest.mark.parametrize(
    ("text", "kind", "rules", "expected"),
    [
        ("PRICE please", "text", [rule(1, "keyword", "price")], 1),
        ("what's the price?", "text", [rule(1, "keyword", "price")], 1),
        ("the prices", "text", [rule(1, "keyword", "price")], None),  # a whole word only
        ("surprice", "text", [rule(1, "keyword", "price")], None),
        ("call me back", "text", [rule(1, "keyword", "call me")], 1),  # words, whole
        (None, "image", [rule(2, "message_type", "image")], 2),
        ("hi", "text", [rule(2, "message_type", "image")], None),
        ("hi", "text", [rule(3, "contact", "15551234567")], 3),  # the wa_id
        ("hi", "text", [rule(3, "contact", str(CONTACT))], 3),  # the contact id
        ("hi", "text", [rule(3, "contact", "15550000000")], None),
        # The first rule (by id) that matches names the message's end.
        ("price", "text", [rule(4, "contact", "x"), rule(5, "keyword", "price")], 5),
    ],
)
def test_an_ignore_rule_that_matches_ignores_the_message_naming_the_rule(
    text: str | None, kind: str, rules: list[IgnoreRuleFact], expected: int | None
) -> None:
    facts = Facts(
        kind, text, contact_id=CONTACT, contact_handles=("15551234567",), ignore_rules=rules
    )

    decision = decide(facts)

    if expected is None:
        assert decision.ignore_rule_id is None
    else:
        assert decision == Decision(Route.IGNORED, expected)


def test_an_ignore_rule_goes_before_a_handover_and_after_a_block() -> None:
    rules = [rule(1, "keyword", "hi")]

    handed_over = decide(Facts("text", "hi", owner_member_id=MEMBER, ignore_rules=rules))
    blocked = decide(Facts("text", "hi", contact_blocked=True, ignore_rules=rules))

    assert handed_over == Decision(Route.IGNORED, 1)
    assert blocked == Decision(Route.BLOCKED)
