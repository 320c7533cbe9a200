"""Burst debounce: people send a thought as several messages. On a channel with `debounce_ms`, a
contact's messages that arrive within that time of each other are answered once, as one turn.

A turn is a pure function of what the store holds, so a router restarted in the middle of the
wait forms the same turn again:
- it starts at the contact's first unfinished message (the one a job may claim);
- each next unfinished message of the contact belongs to it when it arrived within `debounce_ms`
  of the one before it (the router's arrival time, `created_at`) in the same conversation, up to
  MAX_TURN_MESSAGES;
- it is complete once `debounce_ms` passed since its last message with nothing new, or once it
  holds MAX_TURN_MESSAGES (a contact who never pauses is still answered).

Once complete, the turn is written to the store in one transaction (`messages.turn_id`, the id of
its last message, on each of its messages): its earlier messages end as `in_turn`, and the last
one is answered with the texts of all of them, joined in order by a newline, the reply quoting
it. A message that arrives after the turn was written starts the next turn.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A bound on one turn (and on the text it sends to the agent).
MAX_TURN_MESSAGES = 50


@dataclass(frozen=True, slots=True)
class Waiting:
    """A contact's unfinished message, as the turn sees it."""

    id: int
    conversation_id: int | None
    created_at: datetime
    text: str | None


def burst(waiting: Sequence[Waiting], debounce: timedelta) -> list[Waiting]:
    """The turn that starts at the first of `waiting` (a contact's unfinished messages, oldest
    first): each next message belongs to it while it came within `debounce` of the one before,
    in the same conversation."""
    turn: list[Waiting] = []
    for message in waiting[:MAX_TURN_MESSAGES]:
        if turn and (
            message.created_at - turn[-1].created_at > debounce
            or message.conversation_id != turn[0].conversation_id
        ):
            break
        turn.append(message)
    return turn


def seconds_to_wait(turn: Sequence[Waiting], debounce: timedelta, now: datetime) -> float:
    """How long the turn may still grow: 0 when it is complete."""
    if not turn or len(turn) >= MAX_TURN_MESSAGES:
        return 0.0
    return max(0.0, (turn[-1].created_at + debounce - now).total_seconds())


def joined(texts: Sequence[str | None]) -> str:
    """The turn's text: its messages' texts in order, one a line (those without text left out)."""
    return "\n".join(text for text in texts if text)
