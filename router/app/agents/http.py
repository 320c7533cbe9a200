"""`http`: the Server's contract at a URL, through the Backend (its timeout, circuit breakers)."""

from app.agents.backend import Backend
from app.agents.base import Turn
from app.agents.models import AgentType


class HttpAgent:
    kind = AgentType.HTTP.value

    def __init__(self, agent_id: int, backend: Backend, url: str | None) -> None:
        self.id = agent_id
        self._backend = backend
        self._url = url  # None: the Server at SERVER_BASE_URL

    async def reply(self, turn: Turn) -> str | None:
        return await self._backend.reply_for(turn.text, request_id=turn.request_id, url=self._url)
