"""What the inbox page needs to sign a member in with the identity provider (OIDC).

The page does the authorization code flow with PKCE itself, as a public client
(`ROUTER_OIDC_CLIENT_ID`): it sends the browser to the provider's authorization endpoint, comes back
to `/inbox` with a code, and trades the code (with its verifier) for tokens at the token endpoint.
The router only tells the page where those endpoints are, read from the provider's discovery
document (`{ROUTER_OIDC_ISSUER}/.well-known/openid-configuration`), and which of the tokens the API
takes: the ID token when its audience (the client id) is `ROUTER_OIDC_AUDIENCE`, else the access
token, asked for that audience.
"""

import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import structlog
from pydantic import BaseModel

from app.settings import Settings

log = structlog.get_logger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TIMEOUT_SECONDS = 5.0
RETRY_AFTER_FAILURE_SECONDS = 10.0


class OidcSignIn(BaseModel):
    """Where the page sends the browser, and what it asks for."""

    client_id: str
    authorization_endpoint: str
    token_endpoint: str
    scope: str
    # Which token of the token endpoint's answer the page sends as `Authorization: Bearer`.
    token: Literal["id_token", "access_token"]
    # The `audience` parameter of the authorization request, for providers that mint access tokens
    # per API; None when the page uses the ID token.
    audience: str | None


class InboxConfig(BaseModel):
    oidc: OidcSignIn | None
    # Why the provider's sign-in is not offered though it is configured (its discovery failed).
    oidc_error: str | None = None


@dataclass
class _Cached:
    config: InboxConfig
    until: float


class InboxConfigSource:
    """The page's configuration, the discovery document fetched when first asked and kept for
    `ROUTER_OIDC_JWKS_CACHE_SECONDS` (a failure for a few seconds only)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cached: _Cached | None = None

    async def get(self) -> InboxConfig:
        settings = self._settings
        if not settings.router_oidc_client_id:
            return InboxConfig(oidc=None)
        now = time.monotonic()
        if self._cached is not None and now < self._cached.until:
            return self._cached.config
        try:
            config = InboxConfig(oidc=await self._discover())
            keep = settings.router_oidc_jwks_cache_seconds
        except _DiscoveryFailed as failure:
            log.warning("inbox.oidc_discovery_failed", reason=failure.reason)
            config = InboxConfig(oidc=None, oidc_error=failure.reason)
            keep = RETRY_AFTER_FAILURE_SECONDS
        self._cached = _Cached(config, now + keep)
        return config

    async def _discover(self) -> OidcSignIn:
        settings = self._settings
        issuer = settings.router_oidc_issuer
        client_id = settings.router_oidc_client_id
        audience = settings.router_oidc_audience
        # Validated together by Settings.
        assert issuer
        assert client_id
        assert audience
        url = issuer.rstrip("/") + DISCOVERY_PATH
        try:
            async with httpx.AsyncClient(timeout=DISCOVERY_TIMEOUT_SECONDS) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            raise _DiscoveryFailed(
                f"the identity provider's discovery document ({url}) could not be fetched: "
                f"{type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise _DiscoveryFailed(
                f"the identity provider's discovery document ({url}) answered "
                f"{response.status_code}"
            )
        document = _json_object(response)
        if document is None:
            raise _DiscoveryFailed(f"the discovery document ({url}) is not a JSON object")
        if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise _DiscoveryFailed(
                f"the discovery document names the issuer {document.get('issuer')!r}, "
                f"not ROUTER_OIDC_ISSUER ({issuer!r})"
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint"):
            value = document.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise _DiscoveryFailed(f"the discovery document has no {name}")
            endpoints[name] = value
        id_token = audience == client_id
        return OidcSignIn(
            client_id=client_id,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            scope=settings.router_oidc_scope,
            token="id_token" if id_token else "access_token",
            audience=None if id_token else audience,
        )


class _DiscoveryFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
