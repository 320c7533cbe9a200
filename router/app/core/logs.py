"""structlog set-up and the request-id middleware: one file, the same in every service.

`server/app/logs.py`, `router/app/core/logs.py` and `simulator/app/logs.py` are identical byte for
byte (a test in each service holds them so): change the three together. Three copies that drifted
apart once cost replies: the Router read an `X-Request-ID` the Server's copy had learnt to handle.

A caller's `X-Request-ID` is bound to every log line of its request and sent back on the response.
The Router passes its id on to the Server, so one id follows a message across the services. With
traces on (the Router's and the Server's OTEL_EXPORTER_OTLP_ENDPOINT), each line inside a trace also
carries its `trace_id`: the same across the services, and in the job a restart resumed.
"""

import logging
import re
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_MAX_LENGTH = 128
# Visible ASCII only: the id goes on as a header of other requests (httpx refuses non-ASCII
# values) and into log lines.
_REQUEST_ID = re.compile(rb"[!-~]{1,%d}" % REQUEST_ID_MAX_LENGTH)
_NOT_IN_REQUEST_ID = re.compile(rb"[^!-~]+")

# Meta's handshake puts the verify token in the query string, and a browser its events ticket (the
# router's /api/v1/events and /api/v1/ws): uvicorn's access log would print them.
_SECRET_QUERY = re.compile(r"((?:hub\.verify_token|ticket)=)[^&\s]*", re.IGNORECASE)


class RedactQuerySecrets(logging.Filter):
    """Masks secrets in the request line of access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        return True


def configure_logging(
    level: str,
    fmt: str,
    *,
    cache_loggers: bool = False,
    trace_id: Callable[[], str | None] | None = None,
    on_line: Callable[[], None] | None = None,
) -> None:
    """`cache_loggers`: build each logger once, on its first call, instead of on every call, so
    below the configured level a call is a no-op method. Only for a service whose loggers are
    first called after this runs, and whose tests do not configure structlog again.

    `trace_id`: with traces on, the current trace's id (None outside a trace), put beside the
    request id on every line; traces off, no such step runs.

    `on_line`: called once for each line written (a call below the level writes none)."""
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuerySecrets) for f in access_log.filters):
        access_log.addFilter(RedactQuerySecrets())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    with_trace_id = [] if trace_id is None else [_TraceId(trace_id)]
    counted = [] if on_line is None else [_Counted(on_line)]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *with_trace_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *counted,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=cache_loggers,
    )


class _TraceId:
    """A structlog step: `trace_id` on the lines logged inside a trace."""

    def __init__(self, current: Callable[[], str | None]) -> None:
        self._current = current

    def __call__(
        self, _: Any, __: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        trace_id = self._current()
        if trace_id is not None:
            event["trace_id"] = trace_id
        return event


class _Counted:
    """A structlog step: tells `on_line` of each line written."""

    def __init__(self, on_line: Callable[[], None]) -> None:
        self._on_line = on_line

    def __call__(
        self, _: Any, __: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        self._on_line()
        return event


def request_id_from(raw: bytes) -> str:
    """The caller's id as it can travel on: visible ASCII, at most 128 characters (anything else
    is dropped from it), or a new id when nothing usable is left."""
    if _REQUEST_ID.fullmatch(raw):  # the usual case: an id another service made
        return raw.decode("ascii")
    usable = _NOT_IN_REQUEST_ID.sub(b"", raw)[:REQUEST_ID_MAX_LENGTH]
    return usable.decode("ascii") if usable else uuid.uuid4().hex


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
        request_id = request_id_from(raw_id) if raw_id else uuid.uuid4().hex
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
