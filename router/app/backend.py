"""The channel's backend: the reply Server's `POST /process`, behind a circuit breaker."""

import json
from time import perf_counter

import httpx
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, OpenedState
from pydantic import BaseModel, ValidationError

from app.errors import BackendError, BackendUnavailable
from app.observability.metrics import Metrics

log = structlog.get_logger()

CIRCUIT = "server"
AGENT = "server"  # router_backend_request_seconds' label for the Server


class _ProcessResponse(BaseModel):
    original: str
    reply: str


class Backend:
    """Asks the Server for the reply to a text. One pooled client, created in the lifespan.

    After `threshold` failures in a row the breaker opens: calls fail at once, without touching the
    Server, until `ttl` seconds have passed and one trial call succeeds.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        breaker_threshold: int = 5,
        breaker_ttl: float = 10,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        # Built once: merging the base URL into every call costs more than the call's own work.
        self._process_url = client.base_url.join("/process")
        self._timeout = client.timeout.as_dict()
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold, default_ttl=breaker_ttl
        )
        self._metrics = metrics or Metrics()
        self._breakers.add_listener(self._metrics.circuit_changed)

    async def reply_for(self, text: str, *, request_id: str) -> str:
        breaker = await self._breakers.get_breaker(CIRCUIT)
        try:
            async with breaker:
                return await self._call(text, request_id)
        except OpenedState:
            raise BackendUnavailable(
                "the Server's circuit is open after repeated failures"
            ) from None

    async def _call(self, text: str, request_id: str) -> str:
        started = perf_counter()
        try:
            request = httpx.Request(
                "POST",
                self._process_url,
                content=json.dumps({"text": text}).encode(),
                headers={"Content-Type": "application/json", "X-Request-ID": request_id},
                extensions={"timeout": self._timeout},
            )
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:
            raise BackendError(f"the Server timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise BackendError(f"the Server is unreachable ({type(exc).__name__})") from exc
        finally:
            self._metrics.backend_answered(AGENT, perf_counter() - started)
        if response.status_code != 200:
            raise BackendError(f"the Server answered {response.status_code}")
        try:
            return _ProcessResponse.model_validate_json(response.content).reply
        except ValidationError as exc:
            raise BackendError("the Server's answer is not a /process response") from exc

    async def circuits(self) -> list[Context]:
        """Each circuit breaker's state as purgatory keeps it (for the monitoring)."""
        return [(await self._breakers.get_breaker(CIRCUIT)).context]

    async def is_up(self) -> bool:
        try:
            response = await self._client.get("/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
