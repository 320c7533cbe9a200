"""The management API's errors, beside those of `app/errors.py`, and how the OpenAPI declares them.

    RouterError (app/errors.py)
    ├── UnreadableBody       400: a body that is not text in UTF-8 (FastAPI's own 400, rendered)
    ├── Forbidden            403: the caller's role may not do this
    ├── Unprocessable        422: a valid request the platform still cannot act on (a token the
    │                        Graph API refuses for its number, a tenant to name); a malformed
    │                        body is FastAPI's own 422, and a request at odds with what is
    │                        stored (a key above its member's role) a 409 Conflict
    ├── UpstreamFailed       502: the Graph API answered with an error of its own
    └── UpstreamUnreachable  503: the Graph API or the identity provider could not be reached

Each renders as `{"error": {"code": ..., "message": ...}}`. A 422 is either shape: a request that
does not validate is `{"detail": [...]}`, one the platform's rules refuse is `{"error": ...}`.
`answers(...)` declares, on a platform endpoint, every status it can give and the shape of each.
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from app.errors import ErrorBody, RouterError, Unauthorized, declared, error_response


class UnreadableBody(RouterError):
    status_code = 400
    code = "invalid_body"


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


class InvalidField(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class InvalidRequest(BaseModel):
    """FastAPI's answer to a request that does not validate."""

    detail: list[InvalidField]


_UNPROCESSABLE = {
    "model": InvalidRequest | ErrorBody,
    "description": "A request that does not validate (`detail` names each field), or one the "
    "platform's rules refuse (`error`, with error.code: unprocessable)",
}


def answers(*errors: type[RouterError]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a platform endpoint that can raise `errors`, besides what every
    one can: 401 (no key or token, or a bad one), 403 (a role that may not; a token whose
    subject is no member), 422 and 503 (the identity provider's keys cannot be fetched)."""
    statuses = declared(Unauthorized, Forbidden, UpstreamUnreachable, *errors)
    return {**statuses, 422: _UNPROCESSABLE}


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


async def _render_unreadable_body(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI answers 400 to a body it could not read at all (bytes that are not UTF-8); JSON
    that does not parse is its 422. In the shape of every other error."""
    return error_response(UnreadableBody("the body could not be read: send JSON in UTF-8"))


async def _render_method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 with `Allow` naming every method the OpenAPI documents for the path (and HEAD with GET,
    which Starlette serves too).

    FastAPI makes a route per method, and the 405 it raises names the methods of the first route
    whose path matched: `OPTIONS /channels/{id}` answered `Allow: GET` though PATCH and DELETE are
    served there too. A path the OpenAPI does not know keeps FastAPI's header."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    methods = _documented_methods(request.app.openapi(), request.scope["path"])
    if methods:
        headers["Allow"] = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
    return JSONResponse({"detail": exc.detail}, status_code=405, headers=headers)


_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


def _documented_methods(openapi: dict[str, Any], path: str) -> set[str]:
    for template, operations in openapi.get("paths", {}).items():
        regex, _, _ = compile_path(template)
        if regex.match(path):
            return {method.upper() for method in operations} & _HTTP_METHODS
    return set()


def install_error_renderers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _render_validation_error)
    app.add_exception_handler(400, _render_unreadable_body)
    app.add_exception_handler(405, _render_method_not_allowed)
