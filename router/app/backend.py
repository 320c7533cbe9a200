"""The channel's backend: the reply Server's `POST /process`."""

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from app.errors import BackendError

log = structlog.get_logger()


class _ProcessResponse(BaseModel):
    original: str
    reply: str


class Backend:
    """Asks the Server for the reply to a text. One pooled client, created in the lifespan."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def reply_for(self, text: str, *, request_id: str) -> str:
        try:
            response = await self._client.post(
                "/process", json={"text": text}, headers={"X-Request-ID": request_id}
            )
        except httpx.TimeoutException as exc:
            raise BackendError(f"the Server timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise BackendError(f"the Server is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise BackendError(f"the Server answered {response.status_code}")
        try:
            return _ProcessResponse.model_validate_json(response.content).reply
        except ValidationError as exc:
            raise BackendError("the Server's answer is not a /process response") from exc

    async def is_up(self) -> bool:
        try:
            response = await self._client.get("/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
