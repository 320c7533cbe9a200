"""Sending replies through the Graph API with PyWA."""

from collections.abc import Awaitable, Mapping
from typing import Any

import structlog
from pydantic import SecretStr
from pywa_async.client import WhatsApp
from pywa_async.errors import WhatsAppError
from pywa_async.types.templates import TemplateLanguage

from app.core.errors import SendFailed, SendRetryable
from app.observability.metrics import Metrics
from app.outbound.graph_session import GraphUnreachable
from app.outbound.ratelimit import SendRateLimiter
from app.outbound.whatsapp_clients import WhatsAppClients

log = structlog.get_logger()

# WhatsApp rejects text bodies longer than this.
MAX_TEXT_LENGTH = 4096


def split_text(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Cut a text into ordered parts of at most `limit` characters, at a line or word break."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            parts.append(window)  # no break in the window: a hard cut
            rest = rest[limit:]
        else:
            parts.append(rest[:cut])  # the break itself is dropped
            rest = rest[cut + 1 :]
    if rest or not parts:
        parts.append(rest)
    return parts


# Meta's codes for failures that pass: throughput (130429, 80007), pair rate (131056), and its own
# temporary errors (1, 2, 131000, 131016). Everything else with a code is Meta's final word.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056})
THROUGHPUT_REACHED = 130429


class GraphSender:
    """Sends texts from a phone number: waits for the number's rate limit, then PyWA's call.

    Failures come out classified: SendRetryable (5xx, timeouts, throttling) or SendFailed (Meta's
    final answer, with its code and title).
    """

    def __init__(
        self,
        clients: WhatsAppClients,
        limiter: SendRateLimiter,
        default_token: SecretStr,
        metrics: Metrics | None = None,
    ) -> None:
        self._clients = clients
        self._limiter = limiter
        self._default_token = default_token
        self._metrics = metrics or Metrics()

    async def send_text(
        self,
        phone_number_id: str,
        to: str,
        text: str,
        tracker: str,
        *,
        access_token: str | None = None,
        quote: str | None = None,
    ) -> str:
        """Send one text (at most MAX_TEXT_LENGTH characters); return Meta's wamid for it.

        Meta echoes `tracker` in every status webhook of the message (app/outbound/trackers.py).
        `access_token` is the number's own; without one, the deployment's (WHATSAPP_ACCESS_TOKEN).
        `quote`: the wamid of a message the text answers, shown quoted above it (Meta's context).
        """
        whatsapp = self._client(phone_number_id, access_token)
        await self._limiter.wait(phone_number_id)
        wamid = await self._classified(
            phone_number_id,
            whatsapp.send_message(
                to=to,
                text=text,
                sender=phone_number_id,
                tracker=tracker,
                reply_to_message_id=quote,
            ),
        )
        log.debug("message.sent", sent_wamid=wamid, length=len(text))
        return wamid

    async def send_template(
        self,
        phone_number_id: str,
        to: str,
        template: Mapping[str, Any],
        tracker: str,
        *,
        access_token: str | None = None,
    ) -> str:
        """Send a template (`name`, `language` code, Meta's `components` as they are); return
        Meta's wamid. Meta's refusals of the template (132000 parameters, 132001 no such
        template, ...) come out as SendFailed, like every final answer."""
        whatsapp = self._client(phone_number_id, access_token)
        await self._limiter.wait(phone_number_id)
        components = template.get("components") or []
        wamid = await self._classified(
            phone_number_id,
            whatsapp.send_template(
                to=to,
                name=str(template["name"]),
                language=TemplateLanguage(template["language"]),
                # Meta's components, passed through as PyWA passes dicts.
                params=list(components),
                sender=phone_number_id,
                tracker=tracker,
            ),
        )
        log.info("message.sent", sent_wamid=wamid, template=template["name"])
        return wamid

    async def send_media(
        self,
        phone_number_id: str,
        to: str,
        kind: str,
        media: str,
        tracker: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """Send a file by Meta's media id, or by a public link Meta fetches (`media` starting with
        https:// or http://): an image, video, audio, document or sticker; return its wamid."""
        whatsapp = self._client(phone_number_id, access_token)
        await self._limiter.wait(phone_number_id)
        extra: dict[str, Any] = {}
        if kind in {"image", "video", "document"} and caption:
            extra["caption"] = caption
        if kind == "document" and filename:
            extra["filename"] = filename
        send = getattr(whatsapp, f"send_{kind}")
        wamid = await self._classified(
            phone_number_id, send(to, media, sender=phone_number_id, tracker=tracker, **extra)
        )
        log.info("message.sent", sent_wamid=wamid, media=kind)
        return wamid

    def _client(self, phone_number_id: str, access_token: str | None) -> WhatsApp:
        token = access_token or self._default_token.get_secret_value()
        return self._clients.for_number(phone_number_id, token)

    async def _classified(self, phone_number_id: str, call: Awaitable[Any]) -> str:
        """The wamid of PyWA's send, or its failure as SendRetryable or SendFailed."""
        try:
            sent = await call
        except WhatsAppError as exc:
            if exc.code == THROUGHPUT_REACHED:
                self._limiter.throttled(phone_number_id)
            status = exc.status_code or 0
            if exc.code in TRANSIENT_CODES or status >= 500 or status == 429 or exc.is_transient:
                self._metrics.graph_answered(phone_number_id, "retryable", exc.code)
                raise SendRetryable(f"Graph API error {exc.code}: {exc.message}", exc.code) from exc
            self._metrics.graph_answered(phone_number_id, "failed", exc.code)
            raise SendFailed(exc.code, exc.message) from exc
        except GraphUnreachable as exc:
            self._metrics.graph_answered(phone_number_id, "retryable")
            raise SendRetryable(f"Graph API unreachable ({exc})") from exc
        self._metrics.graph_answered(phone_number_id, "ok")
        return str(sent.id)
