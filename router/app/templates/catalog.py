"""A channel's approved templates, from its WhatsApp Business Account through PyWA.

`GET /{waba_id}/message_templates` on the channel's own client (its token, the shared pool, the
base URL of WHATSAPP_GRAPH_API_URL), every page of it, kept per channel for
ROUTER_TEMPLATES_CACHE_SECONDS in this process: a list changes when someone edits templates in
Meta's tools, rarely, and `?refresh=true` reads it again at once.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr
from pywa_async.errors import WhatsAppError

from app.core.clock import utcnow
from app.core.errors import Unprocessable, UpstreamFailed, UpstreamUnreachable
from app.outbound.graph_session import GraphUnreachable
from app.outbound.whatsapp_clients import WhatsAppClients

log = structlog.get_logger()

FIELDS = ("id", "name", "language", "status", "category", "parameter_format", "components")
PAGE_SIZE = 100
# A WABA holds at most a few thousand templates; a paging that never ends is cut here.
MAX_PAGES = 60
APPROVED = "APPROVED"


@dataclass(frozen=True, slots=True)
class Listing:
    waba_id: str
    templates: list[dict[str, Any]]
    fetched_at: datetime  # naive UTC


@dataclass(frozen=True, slots=True)
class ChannelNumber:
    """What the catalog needs of a channel."""

    id: int
    phone_number_id: str
    waba_id: str
    access_token: str | None  # None: the env's WHATSAPP_ACCESS_TOKEN


class TemplateCatalog:
    def __init__(
        self,
        clients: WhatsAppClients,
        default_token: SecretStr,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._default_token = default_token
        self._ttl = ttl_seconds
        self._clock = clock
        self._kept: dict[int, tuple[float, Listing]] = {}

    async def approved(self, channel: ChannelNumber, refresh: bool = False) -> tuple[Listing, bool]:
        """The channel's approved templates, and whether they came from this process's copy."""
        kept = self._kept.get(channel.id)
        if (
            not refresh
            and kept is not None
            and kept[0] > self._clock()
            and kept[1].waba_id == channel.waba_id
        ):
            return kept[1], True
        listing = Listing(channel.waba_id, await self._fetch(channel), utcnow())
        self._kept[channel.id] = (self._clock() + self._ttl, listing)
        return listing, False

    async def _fetch(self, channel: ChannelNumber) -> list[dict[str, Any]]:
        token = channel.access_token or self._default_token.get_secret_value()
        whatsapp = self._clients.for_number(channel.phone_number_id, token)
        templates: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            pagination: dict[str, Any] = {"limit": PAGE_SIZE}
            if after is not None:
                pagination["after"] = after
            try:
                page = await whatsapp.api.get_templates(
                    waba_id=channel.waba_id,
                    fields=FIELDS,
                    filters={"status": APPROVED},
                    pagination=pagination,
                )
            except WhatsAppError as exc:
                raise _refused(channel, exc) from None
            except GraphUnreachable as exc:
                raise UpstreamUnreachable(
                    f"the Graph API could not be reached to list the templates ({exc})"
                ) from None
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise UpstreamFailed("the Graph API answered the template list with no `data`")
            templates.extend(
                t for t in page["data"] if isinstance(t, dict) and t.get("status") == APPROVED
            )
            paging = _mapping(page.get("paging"))
            after = _mapping(paging.get("cursors")).get("after")
            if not paging.get("next") or not isinstance(after, str):
                break
        else:
            log.warning("templates.truncated", channel_id=channel.id, pages=MAX_PAGES)
        log.info("templates.fetched", channel_id=channel.id, count=len(templates))
        return templates


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _refused(channel: ChannelNumber, exc: WhatsAppError) -> Exception:
    status = exc.status_code or 0
    reason = f"Meta's error {exc.code}: {str(exc.message)[:200]}"
    if status >= 500 or status == 429:
        return UpstreamFailed(f"the Graph API failed to list the templates ({reason}); try again")
    return Unprocessable(
        f"channel_id: the Graph API refuses to list the templates of WhatsApp Business Account "
        f"{channel.waba_id} with channel {channel.id}'s token ({reason})"
    )
