"""structlog set-up and the request-id middleware.

The Router passes its correlation id in `X-Request-ID`; binding it here lets one id follow a message
across both services' logs.
"""

import logging
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_MAX_LENGTH = 128


def configure_logging(level: str, fmt: str) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Each logger is built once, on its first call, instead of on every call: below the
        # configured level a call is then a no-op method. Loggers are taken after this runs.
        cache_logger_on_first_use=True,
    )


class RequestIdMiddleware:
    """Binds the caller's `X-Request-ID` (or a new one) to every log line of the request, and
    sends it back on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_id = b""
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                raw_id = value  # the last one, if sent twice
        # Header values are latin-1 on the wire, so the id goes back byte for byte.
        request_id = raw_id.decode("latin-1")[:REQUEST_ID_MAX_LENGTH] or uuid.uuid4().hex
        id_header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
