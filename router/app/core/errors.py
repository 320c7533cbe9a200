"""The management API's errors, beside those of `app/errors.py`, and how the OpenAPI names them.

    RouterError (app/errors.py)
    ├── Forbidden            403: the caller's role may not do this
    ├── Unprocessable        422: a request the platform's rules refuse (a token that cannot use
    │                        its number, a tenant to name); a malformed body is FastAPI's own 422
    ├── UpstreamFailed       502: the Graph API answered with an error of its own
    └── UpstreamUnreachable  503: the Graph API or the identity provider could not be reached

Each renders as `{"error": {"code": ..., "message": ...}}`.
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.errors import RouterError


class Forbidden(RouterError):
    status_code = 403
    code = "forbidden"


class Unprocessable(RouterError):
    status_code = 422
    code = "unprocessable"


class UpstreamFailed(RouterError):
    status_code = 502
    code = "upstream_failed"


class UpstreamUnreachable(RouterError):
    status_code = 503
    code = "upstream_unreachable"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error the API raises on purpose."""

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# Declared on every platform router; FastAPI declares the 422 of a malformed request itself.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No key or token, or a bad one"),
    403: _error("The key's role may not do this"),
    404: _error("No such object in the caller's tenant"),
    409: _error("The request conflicts with what is stored"),
}


# Write-only fields: a 422 would echo them back in its `input`.
SECRET_FIELDS = frozenset({"access_token"})
MASK = "**********"


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


async def _render_validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 (`{"detail": [{"loc", "msg", ...}]}`), without a secret in `input`."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        shown = dict(error)
        if "input" in shown:
            secret = any(part in SECRET_FIELDS for part in shown.get("loc", ()))
            shown["input"] = MASK if secret else _masked(shown["input"])
        errors.append(shown)
    return _AsciiJSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


class _AsciiJSONResponse(JSONResponse):
    """JSON with everything past ASCII escaped: an `input` echoed back may hold a lone surrogate
    (valid in JSON, refused by pydantic), which UTF-8 cannot encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def install_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _render_validation_error)
