"""Graph API errors, rendered in Meta's shape so the Router's client parses them as it would Meta's.

GraphError                 any error answered on the Graph API side
 +- AuthError              401, code 190: missing access token, or one no business has
 +- UnknownObjectError     400, code 100 subcode 33: no such number, or not this token's
 +- InvalidParameterError  400, code 100: a malformed send
 +- UnknownFieldError      400, code 100: `?fields=` names a field the node does not have
 +- ReEngagementError      400, code 131047: free-form message outside the 24 h window
 +- InjectedError          any status and code chosen by fault injection

Control API errors are FastAPI's plain `HTTPException`: only tests and the chat page call them.
"""

import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

ERROR_TITLES = {
    1: "API Unknown",
    2: "Service temporarily unavailable",
    4: "Application request limit reached",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131026: "Message Undeliverable",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    133004: "Server temporarily unavailable",
}
ERROR_DETAILS = {
    80007: "The WhatsApp Business Account has reached its rate limit.",
    130429: "Cloud API message throughput has been reached.",
    131056: "Too many messages sent from the sender phone number to the same recipient phone "
    "number in a short period of time.",
    131047: "Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number.",
}


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


class GraphError(Exception):
    status_code = 400
    code = 1
    error_type = "OAuthException"
    subcode: int | None = None

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


class AuthError(GraphError):
    # No subcode: Meta gives one (463 expired, 467 invalidated) only for a token it could parse.
    status_code = 401
    code = 190

    def __init__(self, message: str = "Invalid OAuth access token.") -> None:
        super().__init__(message)


class UnknownObjectError(GraphError):
    code = 100
    subcode = 33
    error_type = "GraphMethodException"

    def __init__(self, object_id: str, method: str = "post") -> None:
        super().__init__(
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        )


class InvalidParameterError(GraphError):
    code = 100

    def __init__(self, details: str) -> None:
        super().__init__("(#100) Invalid parameter", details)


class UnknownFieldError(GraphError):
    code = 100

    def __init__(self, field: str, node_type: str) -> None:
        super().__init__(
            f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})"
        )


class ReEngagementError(GraphError):
    code = 131047

    def __init__(self) -> None:
        super().__init__("(#131047) Re-engagement message", ERROR_DETAILS[131047])


class InjectedError(GraphError):
    def __init__(self, status_code: int, code: int) -> None:
        title = ERROR_TITLES.get(code, "Injected failure")
        super().__init__(
            f"(#{code}) {title}", ERROR_DETAILS.get(code, "Failure injected by the simulator.")
        )
        self.status_code = status_code
        self.code = code


async def graph_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphError)
    return JSONResponse(exc.body(), status_code=exc.status_code)
