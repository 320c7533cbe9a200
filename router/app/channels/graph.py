"""Checks a channel's access token against the Graph API before the channel is saved.

`GET /{phone_number_id}` with the token answers the number's details only when the token may use
that number, so a channel is never saved that would silently never answer.
"""

from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from app.core.errors import Unprocessable, UpstreamFailed, UpstreamUnreachable

NOT_SAVED = "the channel was not saved"


@dataclass(frozen=True, slots=True)
class NumberInfo:
    display_phone_number: str | None
    verified_name: str | None


class GraphNumbers:
    def __init__(self, client: httpx.AsyncClient, graph_api_base_url: str) -> None:
        self._client = client
        self._base = graph_api_base_url  # with the version: https://graph.facebook.com/v23.0

    async def check(self, phone_number_id: str, token: SecretStr) -> NumberInfo:
        try:
            response = await self._client.get(
                f"{self._base}/{phone_number_id}",
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(
                f"the Graph API could not be reached to check the access token "
                f"({type(exc).__name__}); {NOT_SAVED}"
            ) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise UpstreamFailed(
                f"the Graph API answered {response.status_code} while checking the access token"
                f"{_meta_error(response)}; {NOT_SAVED}, try again"
            )
        if response.status_code >= 400:
            raise Unprocessable(
                f"access_token: the Graph API refuses this token for phone number "
                f"{phone_number_id}{_meta_error(response)}; {NOT_SAVED}"
            )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamFailed(f"the Graph API answered something that is not JSON; {NOT_SAVED}")
        return NumberInfo(_text(body.get("display_phone_number")), _text(body.get("verified_name")))


def _meta_error(response: httpx.Response) -> str:
    """Meta's own reason (`error.code`, `error.message`), for the caller to act on."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    message = _text(error.get("message")) or ""
    return f" (Meta's error {error.get('code')}: {message[:200]})"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
