"""The Router's errors.

Hierarchy:

    RouterError                  every error the router raises on purpose; carries an HTTP status
    ├── SignatureMissing         401: a webhook POST without X-Hub-Signature-256
    ├── SignatureInvalid         403: a signature that does not match the body
    ├── VerificationFailed       403: Meta's GET handshake with a wrong mode or token
    └── InvalidWebhookBody       400/422: a body that is not JSON or not a webhook envelope

    BackendError                 the Server gave no reply (timeout, transport, bad answer)

Every RouterError renders as `{"error": {"code": ..., "message": ...}}` with its status code, so an
expected failure is never a 500.
"""

from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


class InvalidWebhookShape(InvalidWebhookBody):
    status_code = 422
    code = "invalid_shape"


class BackendError(Exception):
    """The reply Server failed: timed out, unreachable, or answered something unusable."""


async def _render_router_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RouterError)
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": {"code": exc.code, "message": exc.message}},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RouterError, _render_router_error)
