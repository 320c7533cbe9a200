"""The Router's errors.

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
"""

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class RouterError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    )


async def _render_router_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RouterError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RouterError, _render_router_error)
