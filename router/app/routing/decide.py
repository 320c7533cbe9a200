"""The routing decision for one inbound message: a pure function of what the store says when the
message's job takes it, so a block or a handover counts from the very next message.

In order:
1. a blocked contact: the message is kept (`blocked`), never answered, never shown to the bot;
2. a conversation a member owns: kept and shown in the conversation (`handed_over`); the bot is
   not asked and nothing is sent. Handed back to the bot, the conversation's next message is
   answered, not the ones that came meanwhile;
3. anything but a text: kept and not answered (`ignored`);
4. otherwise the channel's agent answers (the Server, `SERVER_BASE_URL`).
"""

from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    BLOCKED = "blocked"
    HANDED_OVER = "handed_over"
    IGNORED = "ignored"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the decision looks at: the message, and its conversation and contact as they stand."""

    type: str
    text: str | None
    contact_blocked: bool = False
    owner_member_id: int | None = None  # None: the bot owns the conversation


def decide(facts: Facts) -> Route:
    if facts.contact_blocked:
        return Route.BLOCKED
    if facts.owner_member_id is not None:
        return Route.HANDED_OVER
    if facts.type != "text" or facts.text is None:
        return Route.IGNORED
    return Route.AGENT
