"""The Server's contract (`POST /process` with `{"text"}`, answering `{"reply"}`) behind a
circuit breaker per URL; the `http` agents call it (app/agents/http.py), the default one at
SERVER_BASE_URL. Other agents' calls (an llm's) are guarded by a breaker of their own here too,
so the monitoring lists every circuit of the process."""

import json
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TypeVar

import httpx
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, OpenedState
from pydantic import BaseModel, ValidationError

from app.core.errors import BackendError, BackendUnavailable
from app.observability.metrics import Metrics

log = structlog.get_logger()

CIRCUIT = "server"
AGENT = "server"  # router_backend_request_seconds' label for the Server
HTTP_AGENT = "http"  # ... and for an http agent at a URL of its own
T = TypeVar("T")


class _ProcessResponse(BaseModel):
    original: str | None = None  # the Server sends it; an http agent of another kind may not
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
        self._circuits = [CIRCUIT]  # every breaker asked for, in order, for the monitoring

    async def reply_for(self, text: str, *, request_id: str, url: str | None = None) -> str:
        """The reply of the Server at `url` (None: SERVER_BASE_URL's `/process`)."""
        if url is None:
            return await self.guarded(CIRCUIT, "the Server", lambda: self._call(text, request_id))
        what = f"the Server at {url}"
        return await self.guarded(f"http {url}", what, lambda: self._call(text, request_id, url))

    async def guarded(self, circuit: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call` behind the breaker named `circuit`: open, it fails at once, without calling."""
        if circuit not in self._circuits:
            self._circuits.append(circuit)
        breaker = await self._breakers.get_breaker(circuit)
        try:
            async with breaker:
                return await call()
        except OpenedState:
            raise BackendUnavailable(f"{what}'s circuit is open after repeated failures") from None

    async def _call(self, text: str, request_id: str, url: str | None = None) -> str:
        what = "the Server" if url is None else f"the Server at {url}"
        started = perf_counter()
        try:
            request = httpx.Request(
                "POST",
                self._process_url if url is None else url,
                content=json.dumps({"text": text}).encode(),
                headers={"Content-Type": "application/json", "X-Request-ID": request_id},
                extensions={"timeout": self._timeout},
            )
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:
            raise BackendError(f"{what} timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise BackendError(f"{what} is unreachable ({type(exc).__name__})") from exc
        finally:
            label = AGENT if url is None else HTTP_AGENT
            self._metrics.backend_answered(label, perf_counter() - started)
        if response.status_code != 200:
            raise BackendError(f"{what} answered {response.status_code}")
        try:
            return _ProcessResponse.model_validate_json(response.content).reply
        except ValidationError as exc:
            raise BackendError(f"{what}'s answer is not a /process response") from exc

    async def circuits(self) -> list[Context]:
        """Each circuit breaker's state as purgatory keeps it (for the monitoring)."""
        return [(await self._breakers.get_breaker(name)).context for name in self._circuits]

    async def is_up(self) -> bool:
        try:
            response = await self._client.get("/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
