"""Meta's side of the webhook: POST a signed body to the Router, retrying with backoff.

Every delivery is recorded with each attempt's outcome. Drop and duplicate faults apply here, to
message and status deliveries alike; raw deliveries (tests posting their own bodies) get none.
"""

import secrets

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from app.faults import Faults
from app.payloads import reserialise, sign
from app.settings import Settings
from app.store import Attempt, Delivery, DeliveryKind, Store, now

log = structlog.get_logger()


class DeliveryFailedError(Exception):
    """The Router answered with a non-2xx status."""


class WebhookSender:
    def __init__(
        self, client: httpx.AsyncClient, store: Store, faults: Faults, settings: Settings
    ) -> None:
        self.client = client
        self._store = store
        self._faults = faults
        self._settings = settings

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
            self._publish(first)
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
        headers = {"content-type": "application/json", "x-hub-signature-256": delivery.signature}
        wait = wait_exponential(
            multiplier=self._settings.simulator_webhook_backoff_ms / 1000,
            max=self._settings.simulator_webhook_backoff_max_ms / 1000,
        )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.simulator_webhook_attempts),
            wait=wait,
            retry=retry_if_exception_type((httpx.TransportError, DeliveryFailedError)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(delivery, raw, headers)
            delivery.state = "delivered"
        except (httpx.TransportError, DeliveryFailedError) as exc:
            delivery.state = "failed"
            log.warning(
                "webhook.failed", delivery=delivery.id, error=str(exc) or type(exc).__name__
            )
        self._publish(delivery)

    async def _attempt(self, delivery: Delivery, raw: bytes, headers: dict[str, str]) -> None:
        try:
            response = await self.client.post(delivery.url, content=raw, headers=headers)
        except httpx.TransportError as exc:
            delivery.attempts.append(Attempt(at=now(), error=f"{type(exc).__name__}: {exc}"))
            raise
        delivery.attempts.append(Attempt(at=now(), status_code=response.status_code))
        if not response.is_success:
            raise DeliveryFailedError(f"HTTP {response.status_code}")

    def _publish(self, delivery: Delivery) -> None:
        self._store.hub.publish(
            "delivery",
            {
                "id": delivery.id,
                "kind": delivery.kind,
                "state": delivery.state,
                "wamids": delivery.wamids,
            },
        )
