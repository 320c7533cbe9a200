"""Tickets: a browser cannot set headers on an EventSource or a WebSocket, so it asks for a ticket
(with its key or token, as on the API) and puts that in the query string.

A ticket names the caller's tenant, member, role, the numbers it sees and way of signing in, and
when it expires (60 s after it was made), signed with HMAC-SHA256 under a key every router
process derives alike from ROUTER_EVENTS_TICKET_SECRET (else the app secret, else the verify
token): any process accepts
a ticket any other made, no store is written, and changing one byte of it makes it worthless. It
may be used until it expires (an EventSource reconnects with the same URL); the stream it opened
then goes on. Tickets are secrets: never logged (app/core/logs.py masks `ticket=`).
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from app.auth.roles import Role
from app.auth.scope import Principal
from app.core.errors import Unauthorized
from app.settings import Settings

TICKET_SECONDS = 60
PREFIX = "wrt_"
_LABEL = b"whatsapp-router events ticket v1"


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    expires_at: datetime


def signing_key(settings: Settings) -> bytes:
    secret = (
        settings.router_events_ticket_secret
        or settings.whatsapp_app_secret
        or settings.whatsapp_webhook_verify_token
    )
    return hmac.new(secret.get_secret_value().encode(), _LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, tenant_id: int, principal: Principal, auth: str) -> Ticket:
    expires = int(time.time()) + TICKET_SECONDS
    claims = {
        "t": tenant_id,
        "m": principal.member_id,
        "r": principal.role.value if principal.role else None,
        "a": auth,
        "e": expires,
        # The numbers it sees: a ticket never sees more than the caller who asked for it.
        "c": None if principal.channel_ids is None else sorted(principal.channel_ids),
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return Ticket(f"{PREFIX}{body}.{signature}", datetime.fromtimestamp(expires, UTC))


def verify(key: bytes, ticket: str) -> tuple[int, Principal]:
    """The tenant and the caller a ticket names; 401 when it is forged, altered or expired."""
    invalid = Unauthorized("the ticket is not valid or has expired: ask for a new one")
    body, dot, signature = ticket.removeprefix(PREFIX).partition(".")
    if not ticket.startswith(PREFIX) or not dot:
        raise invalid
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise invalid
    try:
        claims = json.loads(_unb64(body))
        tenant_id, member_id, role, expires = claims["t"], claims["m"], claims["r"], claims["e"]
        channels = claims["c"]
        seen = None if channels is None else frozenset(int(c) for c in channels)
    except (ValueError, KeyError, TypeError):
        raise invalid from None
    if not isinstance(expires, int) or expires <= time.time():
        raise invalid
    principal = Principal(
        tenant_id=None if role is None else tenant_id,
        role=None if role is None else Role(role),
        member_id=member_id,
        channel_ids=seen,
    )
    return tenant_id, principal
