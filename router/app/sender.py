"""Sending replies through the Graph API with PyWA."""

from dataclasses import dataclass

import structlog
from pywa_async.client import WhatsApp

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


@dataclass(frozen=True, slots=True)
class SentPart:
    wamid: str
    text: str


class Sender:
    """Sends texts from one phone number. PyWA does the Graph API call; this owns the splitting."""

    def __init__(self, whatsapp: WhatsApp, phone_number_id: str) -> None:
        self._whatsapp = whatsapp
        self._phone_number_id = phone_number_id

    async def send_text(self, to: str, text: str) -> list[SentPart]:
        sent = []
        for part in split_text(text):
            message = await self._whatsapp.send_message(
                to=to, text=part, sender=self._phone_number_id
            )
            log.info("message.sent", to_wamid=message.id, length=len(part))
            sent.append(SentPart(wamid=message.id, text=part))
        return sent
