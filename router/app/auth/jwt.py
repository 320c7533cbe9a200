"""Bearer tokens from the identity provider (OIDC), checked against its published keys (JWKS).

PyJWT's JWKS client caches the key set (`lifespan`) and fetches it again when a token names a key
it does not know, which is how a rotated key is picked up (at most once per `cooldown`, so made-up
key ids cannot make us hammer the provider). Its keys are not cached one by one: a key withdrawn
from the set must stop being trusted when the set is next fetched. The client is synchronous
(urllib), so it runs off the event loop.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

from app.core.errors import Unauthorized, UpstreamUnreachable

# Only signatures made with the provider's private key: never a shared secret ("HS256"), never none.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
JWKS_TIMEOUT_SECONDS = 5.0
LEEWAY_SECONDS = 30  # clock skew between the provider and us
NAME_LENGTH = 200  # a member's name column


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    email: str | None  # only when the provider says it is verified
    name: str | None = None  # the person's name as the provider gives it, unchecked


class JwtVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        *,
        cache_seconds: float = 300,
        cooldown_seconds: float = 30,
    ) -> None:
        self._jwks = PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=cooldown_seconds,
        )
        self._issuer = issuer
        self._audience = audience

    async def identify(self, token: str) -> Identity:
        """The token's verified subject; Unauthorized for any token we cannot trust."""
        try:
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except PyJWKClientConnectionError:
            raise UpstreamUnreachable(
                "the identity provider's keys (ROUTER_OIDC_JWKS_URL) could not be fetched"
            ) from None
        except (PyJWKClientError, PyJWKSetError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(f"the bearer token cannot be verified: {exc}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the bearer token is not valid here: {exc}") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the bearer token names no subject")
        email = claims.get("email")
        verified = claims.get("email_verified") is True and isinstance(email, str)
        return Identity(subject, email.lower() if verified and email else None, _name(claims))


def _name(claims: dict[str, Any]) -> str | None:
    """The token's `name` (else `preferred_username`) as a member's name may be: no NUL (no
    database stores one in text), not blank, at most NAME_LENGTH characters."""
    for claim in ("name", "preferred_username"):
        value = claims.get(claim)
        if isinstance(value, str) and (name := value.replace("\x00", "").strip()[:NAME_LENGTH]):
            return name
    return None
