"""The routing decision for one inbound message: a pure function of what the store says when the
message's job takes it, so a block, an ignore rule or a handover counts from the very next message.

In order:
1. a blocked contact: the message is kept (`blocked`), never answered, never shown to the bot;
2. an ignore rule that matches (its contact, a keyword as a whole word in any case, its message
   type): kept and shown in the conversation (`ignored`, with the rule's id), answered by no agent;
3. a conversation a member owns: kept and shown in the conversation (`handed_over`); the bot is
   not asked and nothing is sent. Handed back to the bot, the conversation's next message is
   answered, not the ones that came meanwhile;
4. anything but a text or a captioned file (an image, a video, a document: its caption is its
   text): kept and not answered (`ignored`);
5. otherwise the channel's agents, in priority order (app/agents/).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.media.kinds import CAPTIONED

# What the channel's agents are asked about: a text, and a file's caption.
ANSWERED_TYPES = frozenset({"text"}) | CAPTIONED


class Route(StrEnum):
    BLOCKED = "blocked"
    HANDED_OVER = "handed_over"
    IGNORED = "ignored"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class IgnoreRuleFact:
    """An ignore rule as the decision reads it (app/ignore_rules/directory.py builds them)."""

    id: int
    rule_type: str  # contact, keyword, message_type
    value: str
    words: re.Pattern[str] | None = None  # a keyword rule's value, as whole words in any case


@dataclass(frozen=True, slots=True)
class Facts:
    """What the decision looks at: the message, and its conversation and contact as they stand."""

    type: str
    text: str | None
    contact_blocked: bool = False
    owner_member_id: int | None = None  # None: the bot owns the conversation
    contact_id: int | None = None
    contact_handles: tuple[str | None, ...] = ()  # its wa_id and user id (BSUID), as known
    ignore_rules: Sequence[IgnoreRuleFact] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    ignore_rule_id: int | None = None  # the rule that made the message `ignored`


def decide(facts: Facts) -> Decision:
    if facts.contact_blocked:
        return Decision(Route.BLOCKED)
    rule = matching_rule(facts)
    if rule is not None:
        return Decision(Route.IGNORED, rule.id)
    if facts.owner_member_id is not None:
        return Decision(Route.HANDED_OVER)
    if facts.type not in ANSWERED_TYPES or facts.text is None:
        return Decision(Route.IGNORED)
    return Decision(Route.AGENT)


def matching_rule(facts: Facts) -> IgnoreRuleFact | None:
    """The first ignore rule (by id) the message matches."""
    for rule in facts.ignore_rules:
        if rule.rule_type == "contact":
            if rule.value == str(facts.contact_id) or rule.value in facts.contact_handles:
                return rule
        elif rule.rule_type == "keyword":
            if facts.text and rule.words is not None and rule.words.search(facts.text):
                return rule
        elif rule.rule_type == "message_type" and rule.value.lower() == facts.type:
            return rule
    return None
