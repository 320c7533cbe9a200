"""The management API's errors, beside those of `app/errors.py`, and how the OpenAPI declares them.

    RouterError (app/errors.py)
    ├── UnreadableBody       400: a body that is not JSON (app/bodies.py answers it, and 413 and
    │                        415, for every endpoint)
    ├── Forbidden            403: the caller's role may not do this
    ├── Unprocessable        422: a valid request the platform still cannot act on (a token the
    │                        Graph API refuses for its number, a tenant to name); a body of
    │                        the wrong shape is FastAPI's own 422, and a request at odds with
    │                        what is stored (a key above its member's role) a 409 Conflict
    ├── UpstreamFailed       502: the Graph API answered with an error of its own
    └── UpstreamUnreachable  503: the Graph API or the identity provider could not be reached

Each renders as `{"error": {"code": ..., "message": ...}}`. A 422 is either shape: a request that
does not validate is `{"detail": [...]}`, one the platform's rules refuse is `{"error": ...}`.
`answers(...)` declares, on a platform endpoint, every status it can give and the shape of each.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from app.bodies import AsciiJSONResponse, BodyProblem, install_body_errors
from app.errors import ErrorBody, RouterError, Unauthorized, declared


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


# Write-only fields: a 422 would echo them back in its `input` (a channel's token, an llm agent's
# key in its config).
SECRET_FIELDS = frozenset({"access_token", "api_key"})
MASK = "**********"


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _masked_input(error: dict[str, Any]) -> Any:
    """A validation error's `input`, with every secret field in it masked."""
    if any(part in SECRET_FIELDS for part in error.get("loc", ())):
        return MASK
    return _masked(error["input"])


def _render_body_problem(problem: BodyProblem) -> Response:
    body = {"error": {"code": problem.code, "message": problem.message}}
    return AsciiJSONResponse(body, status_code=problem.status_code, headers=problem.headers)


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
    install_body_errors(
        app, _render_body_problem, _masked_input, {"$ref": "#/components/schemas/ErrorBody"}
    )
    app.add_exception_handler(405, _render_method_not_allowed)
