"""The routing decision, without a database: blocked, then handed over, then not a text, then the
channel's agent."""

import pytest

from app.routing.decide import Facts, Route, decide

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
    assert decide(facts) is route


def test_each_route_but_the_agent_names_the_status_its_message_ends_in() -> None:
    from app.pipeline import UNANSWERED
    from app.store.models import InboundStatus

    assert {route for route in Route if route is not Route.AGENT} == set(UNANSWERED)
    assert {status.value for status in UNANSWERED.values()} <= {s.value for s in InboundStatus}
