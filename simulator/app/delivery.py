"""Meta's side of the webhook: POST a signed body to the Router, retrying with backoff.

Every delivery is recorded with each attempt's outcome. Drop and duplicate faults apply here, to
message and status deliveries alike; raw deliveries (tests posting their own bodies) get none.
"""

import secrets
from time import perf_counter
from typing import Any

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from app.faults import Faults
from app.metrics import SimulatorMetrics
from app.payloads import reserialise, sign
from app.settings import Settings
from app.store import Attempt, Delivery, DeliveryKind, Store, now

log = structlog.get_logger()

# What an attempt can fail with besides a non-2xx answer: refused, reset, timed out.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


def webhook_client(timeout_s: float) -> aiohttp.ClientSession:
    """aiohttp itself: httpx's pool stalls (PoolTimeout) at a few hundred requests/s, and httpx on
    aiohttp's transport still spends more per request on URLs and cookies than aiohttp does."""
    # Wide, because under load hundreds of bodies are in flight; keep-alive shorter than the time
    # the Router's uvicorn keeps an idle connection (5 s), so a reused one is not being closed.
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=2.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class DeliveryFailedError(Exception):
    """The Router answered with a non-2xx status."""


class WebhookSender:
    def __init__(
        self,
        client: aiohttp.ClientSession,
        store: Store,
        faults: Faults,
        settings: Settings,
        metrics: SimulatorMetrics,
    ) -> None:
        self.client = client
        self._store = store
        self._faults = faults
        self._settings = settings
        self._metrics = metrics
        # The retry policy, built once and shared by every body's AsyncRetrying.
        self._stop = stop_after_attempt(settings.simulator_webhook_attempts)
        self._wait = wait_exponential(
            multiplier=settings.simulator_webhook_backoff_ms / 1000,
            max=settings.simulator_webhook_backoff_max_ms / 1000,
        )
        self._retry = retry_if_exception_type((*TRANSPORT_ERRORS, DeliveryFailedError))

    async def deliver(
        self,
        kind: DeliveryKind,
        raw: bytes,
        wamids: list[str],
        *,
        signature: str | None = None,
        duplicate: str = "none",
    ) -> list[Delivery]:
        """Deliver one body, then its duplicates; the first delivery decides the message state."""
        first = self._record(kind, raw, wamids, signature)
        if kind != "raw" and self._faults.drop_webhook():
            first.state = "dropped"
            log.info("webhook.dropped", delivery=first.id, wamids=wamids)
            self._ended(first)
            return [first]
        await self._post(first, raw)
        deliveries = [first]
        copies: list[bytes] = []
        if duplicate in ("same_bytes", "both") or (
            kind != "raw" and duplicate == "none" and self._faults.duplicate_webhook()
        ):
            copies.append(raw)
        if duplicate in ("reserialized", "both"):
            copies.append(reserialise(raw))
        for copy in copies:
            again = self._record(kind, copy, wamids, None, duplicate_of=first.id)
            await self._post(again, copy)
            deliveries.append(again)
        return deliveries

    def _record(
        self,
        kind: DeliveryKind,
        raw: bytes,
        wamids: list[str],
        signature: str | None,
        duplicate_of: str | None = None,
    ) -> Delivery:
        secret = self._settings.whatsapp_app_secret.get_secret_value()
        delivery = Delivery(
            id=secrets.token_hex(8),
            kind=kind,
            url=self._faults.behaviour.webhook_url,
            body=raw.decode(),
            signature=signature if signature is not None else sign(secret, raw),
            wamids=wamids,
            duplicate_of=duplicate_of,
        )
        self._store.deliveries[delivery.id] = delivery
        return delivery

    async def _post(self, delivery: Delivery, raw: bytes) -> None:
        """Attempt after attempt with exponential backoff (tenacity), until a 2xx or the last."""
        headers = {"content-type": "application/json", "x-hub-signature-256": delivery.signature}
        retrying = AsyncRetrying(stop=self._stop, wait=self._wait, retry=self._retry, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(delivery, raw, headers)
            delivery.state = "delivered"
        except (*TRANSPORT_ERRORS, DeliveryFailedError) as exc:
            delivery.state = "failed"
            log.warning(
                "webhook.failed", delivery=delivery.id, error=str(exc) or type(exc).__name__
            )
        self._ended(delivery)

    async def _attempt(self, delivery: Delivery, raw: bytes, headers: dict[str, str]) -> None:
        started = perf_counter()
        try:
            async with self.client.post(delivery.url, data=raw, headers=headers) as response:
                await response.read()  # the connection goes back to the pool only once read
        except TRANSPORT_ERRORS as exc:
            self._metrics.webhook_attempted(None, perf_counter() - started)
            delivery.attempts.append(Attempt(at=now(), error=f"{type(exc).__name__}: {exc}"))
            raise
        self._metrics.webhook_attempted(response.status, perf_counter() - started)
        delivery.attempts.append(Attempt(at=now(), status_code=response.status))
        if not 200 <= response.status < 300:
            raise DeliveryFailedError(f"HTTP {response.status}")

    def _ended(self, delivery: Delivery) -> None:
        self._metrics.webhook_ended(delivery.kind, delivery.state)
        hub = self._store.hub
        if hub.listening:
            data: dict[str, Any] = {
                "id": delivery.id,
                "kind": delivery.kind,
                "state": delivery.state,
                "wamids": delivery.wamids,
            }
            hub.publish("delivery", data)
