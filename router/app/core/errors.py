"""The Router's errors, and how the OpenAPI declares them.

Hierarchy:

    RouterError                  every error the router raises on purpose; carries an HTTP status
    ├── SignatureMissing         401: a webhook POST without X-Hub-Signature-256
    ├── SignatureInvalid         403: a signature that does not match the body
    ├── VerificationFailed       403: Meta's GET handshake with a wrong mode or token
    ├── InvalidWebhookBody       400: a body that is not JSON, or nested too deeply
    │   ├── WebhookIgnored       200: JSON that holds no WhatsApp batch (`{}`, a shape the router
    │   │                        cannot read), answered {"status": "ignored", "reason"} so that Meta
    │   │                        does not deliver it again for days
    │   ├── InvalidWebhookShape  422: a value in a webhook the store refuses
    │   └── BodyTooLarge         413: a webhook body over the size limit
    ├── Unauthorized, NotFound, Conflict, NotConfigured   401/404/409/503: the management API
    └── StoreUnavailable         503: the database is down, so a webhook cannot be accepted safely

    TransientError               worth another try later (see app/jobs/retries.py)
    ├── BackendError             the Server gave no reply (timeout, transport, bad answer)
    │   └── BackendUnavailable   the Server's circuit breaker is open
    └── SendRetryable            the Graph API failed in a way that passes (5xx, throttling)
    SendFailed                   the Graph API refused for good (Meta's code and title kept)

Every RouterError renders as `{"error": {"code": ..., "message": ...}}` with its status code, so an
expected failure is never a 500; `declared(...)` puts that shape in the OpenAPI of the endpoints
that can raise it. A request FastAPI cannot validate is its own 422, `{"detail": [...]}`, which
FastAPI declares by itself on every endpoint that takes a parameter.

The platform API's own, under the same RouterError:

    RouterError
    ├── UnreadableBody       400: a body that is not JSON (app/core/bodies.py answers it, and 413
    │                        and 415, for every endpoint)
    ├── Forbidden            403: the caller's role may not do this
    ├── Unprocessable        422: a valid request the platform still cannot act on (a token the
    │                        Graph API refuses for its number, a tenant to name); a body of
    │                        the wrong shape is FastAPI's own 422, and a request at odds with
    │                        what is stored (a key above its member's role) a 409 Conflict
    ├── FileTooLarge         413: a file over WhatsApp's limit for its kind (app/media/)
    ├── UnsupportedBody      415: a body an endpoint taking JSON or a file takes neither way
    ├── RangeNotSatisfiable  416: a Range past the end of a media file
    ├── UpstreamFailed       502: the Graph API answered with an error of its own
    └── UpstreamUnreachable  503: the Graph API or the identity provider could not be reached

Each renders as `{"error": {"code": ..., "message": ...}}`. A 422 is either shape: a request that
does not validate is `{"detail": [...]}`, one the platform's rules refuse is `{"error": ...}`.
`answers(...)` declares, on a platform endpoint, every status it can give and the shape of each.
"""

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from app.core.bodies import AsciiJSONResponse, BodyProblem, install_body_errors


class RouterError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers  # sent with the answer (a 415's Accept-Post)


class SignatureMissing(RouterError):
    status_code = 401
    code = "signature_missing"


class SignatureInvalid(RouterError):
    status_code = 403
    code = "signature_invalid"


class VerificationFailed(RouterError):
    status_code = 403
    code = "verification_failed"


class InvalidWebhookBody(RouterError):
    status_code = 400
    code = "invalid_body"


class WebhookIgnored(InvalidWebhookBody):
    status_code = 200
    code = "ignored"


class InvalidWebhookShape(InvalidWebhookBody):
    status_code = 422
    code = "invalid_shape"


class BodyTooLarge(InvalidWebhookBody):
    status_code = 413
    code = "body_too_large"


class NotFound(RouterError):
    status_code = 404
    code = "not_found"


class Conflict(RouterError):
    status_code = 409
    code = "conflict"


class Unauthorized(RouterError):
    status_code = 401
    code = "unauthorized"


class NotConfigured(RouterError):
    status_code = 503
    code = "not_configured"


class StoreUnavailable(RouterError):
    status_code = 503
    code = "store_unavailable"


class TransientError(Exception):
    """A failure that is expected to pass: the work is retried with backoff."""


class BackendError(TransientError):
    """The reply Server failed: timed out, unreachable, or answered something unusable."""


class BackendUnavailable(BackendError):
    """The circuit breaker is open: the Server is not called at all for now."""


class SendRetryable(TransientError):
    def __init__(self, reason: str, error_code: int | None = None) -> None:
        super().__init__(reason)
        self.error_code = error_code


class SendFailed(Exception):
    """Meta refused the message for good (outside the 24 h window, bad parameter, ...)."""

    def __init__(self, error_code: int | None, title: str) -> None:
        super().__init__(f"{error_code}: {title}")
        self.error_code = error_code
        self.title = title


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """How every RouterError is answered."""

    error: ErrorDetail


def declared(*errors: type[RouterError]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an endpoint that can raise `errors`: their status and shape, and
    in the description the codes that status can carry."""
    codes: dict[int, list[str]] = {}
    for error in errors:
        codes.setdefault(error.status_code, []).append(error.code)
    return {
        status: {"model": ErrorBody, "description": "error.code: " + ", ".join(names)}
        for status, names in sorted(codes.items())
    }


def error_response(exc: RouterError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": {"code": exc.code, "message": exc.message}},
        headers=exc.headers,
    )


async def _render_router_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RouterError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RouterError, _render_router_error)


class UnreadableBody(RouterError):
    status_code = 400
    code = "invalid_body"


class Forbidden(RouterError):
    status_code = 403
    code = "forbidden"


class Unprocessable(RouterError):
    status_code = 422
    code = "unprocessable"


class FileTooLarge(RouterError):
    """A file over WhatsApp's limit for its kind."""

    status_code = 413
    code = "file_too_large"


class UnsupportedBody(RouterError):
    """A body sent as neither of the types an endpoint takes (JSON, or a multipart form)."""

    status_code = 415
    code = "unsupported_media_type"


class RangeNotSatisfiable(RouterError):
    status_code = 416
    code = "range_not_satisfiable"


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
