"""The operator: whoever holds `ROUTER_ADMIN_API_KEY`, above every tenant. One check, used by the
management API (`AdminDep`), its message views and the platform's Principal."""

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from app.core.errors import NotConfigured, Unauthorized
from app.lifespan import SettingsDep
from app.settings import Settings

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def is_operator(settings: Settings, api_key: str | None) -> bool:
    """Whether `api_key` is the operator's key (never, while none is set)."""
    expected = settings.router_admin_api_key
    if api_key is None or expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(api_key.encode(), expected.get_secret_value().encode())


async def require_admin(
    settings: SettingsDep, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    """The management API's key, sent as `X-API-Key`."""
    expected = settings.router_admin_api_key
    if expected is None or not expected.get_secret_value():
        raise NotConfigured("the management API is off: set ROUTER_ADMIN_API_KEY to turn it on")
    if not is_operator(settings, api_key):
        raise Unauthorized("a valid X-API-Key header is required")


AdminDep = Depends(require_admin)
