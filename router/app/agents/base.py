"""What every agent is: given a turn, a reply, or None to let the next agent answer."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Turn:
    """An inbound text to answer, with what an agent may look at."""

    message_id: int
    text: str
    contact_id: int | None
    conversation_id: int | None
    request_id: str
    # WhatsApp's Cloud API webhooks the router reads carry no group messages yet: always False.
    from_group: bool = False


class Agent(Protocol):
    id: int
    kind: str  # its agent_type

    async def reply(self, turn: Turn) -> str | None:
        """The reply, or None (not for this agent: the next one is asked). A failure that may
        pass raises a TransientError (the pipeline retries, then the message fails)."""
        ...
