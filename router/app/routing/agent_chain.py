"""The agent chain: a channel's agents (app/agents/) asked in priority order, smallest first. The
first that gives a reply answers; one that passes lets the next answer; one that fails is retried
(app/jobs/retries.py), then fails the message."""

from functools import partial

from app.agents.base import Agent, Turn
from app.agents.directory import AgentDirectory
from app.jobs.retries import Attempts
from app.messages.models import MessageRow


class AgentChain:
    def __init__(self, agents: AgentDirectory, attempts: Attempts) -> None:
        self._agents = agents
        self._attempts = attempts

    async def first_reply(self, message: MessageRow, text: str) -> tuple[Agent, str] | None:
        """The first reply of the channel's agents, in priority order, and who gave it."""
        if message.channel_id is None:
            return None
        turn = Turn(
            message.id,
            text,
            message.contact_id,
            message.conversation_id,
            message.request_id or "",
        )
        for agent in await self._agents.agents(message.channel_id):
            reply = await self._attempts.run(message, partial(agent.reply, turn))
            if reply:
                return agent, reply
        return None
