"""`llm`: an OpenAI-compatible chat-completions endpoint (`POST {base_url}/chat/completions`).

Plain HTTP with the process's client rather than a vendor SDK: the call is one request with a
known shape, and it takes the same timeout, circuit breaker and retries as the Server's. The
request carries the conversation's last `history_messages` texts (the contact's as `user`, the
bot's and members' as `assistant`) before the text answered. The api_key goes in the
Authorization header only: no error or log line carries it.

A config without `base_url` asks the env's endpoint (OPENAI_BASE_URL, else OpenAI's), with the
env's OPENAI_API_KEY unless it has a key of its own. The env's key goes to the env's endpoint
only: an agent naming its own base_url never gets it, or any tenant's admin could have the
operator's key sent to a host of theirs.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from app.agents.backend import Backend
from app.agents.base import Turn
from app.agents.models import AgentType
from app.agents.schemas import LlmConfig
from app.core.errors import BackendError
from app.observability.metrics import Metrics

# (conversation id, before message id, how many) -> [(from the contact, text)], oldest first.
History = Callable[[int, int, int], Awaitable[list[tuple[bool, str]]]]
LABEL = "llm"  # router_backend_request_seconds' label


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The env's chat-completions API: OPENAI_BASE_URL and OPENAI_API_KEY."""

    base_url: str
    api_key: SecretStr | None


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message


class _Completion(BaseModel):
    choices: list[_Choice]


class LlmAgent:
    kind = AgentType.LLM.value

    def __init__(
        self,
        agent_id: int,
        config: LlmConfig,
        client: httpx.AsyncClient,
        backend: Backend,
        history: History,
        metrics: Metrics,
        env: Endpoint,
    ) -> None:
        self.id = agent_id
        self._config = config
        own_key = config.api_key if isinstance(config.api_key, SecretStr) else None
        if config.base_url is None:
            base_url, api_key = env.base_url, own_key or env.api_key
        else:
            base_url, api_key = str(config.base_url), own_key
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._client = client
        self._backend = backend
        self._history = history
        self._metrics = metrics
        self._headers = {"Content-Type": "application/json"}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"

    async def reply(self, turn: Turn) -> str | None:
        return await self._backend.guarded(
            f"llm {self.id}", f"llm agent {self.id}", lambda: self._complete(turn)
        )

    async def _complete(self, turn: Turn) -> str:
        messages: list[dict[str, str]] = []
        if self._config.system_prompt:
            messages.append({"role": "system", "content": self._config.system_prompt})
        if self._config.history_messages and turn.conversation_id is not None:
            earlier = await self._history(
                turn.conversation_id, turn.message_id, self._config.history_messages
            )
            messages += [
                {"role": "user" if contact else "assistant", "content": text}
                for contact, text in earlier
            ]
        messages.append({"role": "user", "content": turn.text})
        body: dict[str, object] = {"model": self._config.model, "messages": messages}
        if self._config.temperature is not None:
            body["temperature"] = self._config.temperature
        what = f"llm agent {self.id}"
        started = perf_counter()
        try:
            response = await self._client.post(
                self._url,
                json=body,
                headers={**self._headers, "X-Request-ID": turn.request_id},
            )
        except httpx.TimeoutException as exc:
            raise BackendError(f"{what} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise BackendError(f"{what} is unreachable ({type(exc).__name__})") from None
        finally:
            self._metrics.backend_answered(LABEL, perf_counter() - started)
        if response.status_code != 200:
            raise BackendError(f"{what} answered {response.status_code}")
        try:
            completion = _Completion.model_validate_json(response.content)
        except ValidationError:
            raise BackendError(f"{what}'s answer is not a chat completion") from None
        content = completion.choices[0].message.content if completion.choices else None
        if not content or not content.strip():
            raise BackendError(f"{what} answered no text")
        return content
