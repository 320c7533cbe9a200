"""Traces (OpenTelemetry): off unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and `OTEL_SDK_DISABLED` is not true.

`Tracing` is the hooks' interface and does nothing: the router runs with it when traces are off, so
a hook on the message path costs the call of an empty method, and nothing of OpenTelemetry's SDK,
exporter or instrumentations is imported. `otel.py` holds every one of those imports and is loaded
only by `new_tracing` when traces are on. (FastAPI itself imports OpenTelemetry's API package, for
its own telemetry, which the router keeps off: see `main.py`.)

One trace per message: the webhook's request span; the job's span, continued from the W3C
`traceparent` stored with the message (so a job run by another process, or after a restart,
continues the same trace); under it the Server's `/process` call (which the Server continues from
the `traceparent` header), the queries, and the Graph API send. A status webhook's span links to the
trace of each message it reports on, found by wamid.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.messages.models import MessageRow
    from app.settings import Settings


class Tracing:
    """Traces off: every hook does nothing."""

    enabled = False

    def instrument_app(self, app: "FastAPI") -> None:
        """Spans for the app's requests (FastAPI's instrumentation)."""

    def instrument_engine(self, engine: "AsyncEngine") -> None:
        """Spans for the store's queries (SQLAlchemy's instrumentation)."""

    def instrument_client(self, client: "httpx.AsyncClient") -> None:
        """Spans for an httpx client's calls, with the trace context sent on (the Server's)."""

    def graph_trace_configs(self) -> list["aiohttp.TraceConfig"]:
        """What the Graph API's aiohttp pool traces its sends with."""
        return []

    def traceparent(self) -> str | None:
        """The current span's context as a W3C `traceparent`, to store with a message."""
        return None

    def job(self, message: "MessageRow") -> AbstractContextManager[Any]:
        """The span of one run of a message's job, in the trace its `traceparent` names."""
        return nullcontext()

    def statuses(self, traceparents: Sequence[str], count: int) -> None:
        """A span for a webhook's `count` statuses, linked to the traces of the messages they
        report on."""

    def trace_id(self) -> str | None:
        """The current trace's id (32 hex digits), for log lines."""
        return None

    def close(self) -> None:
        """Undo the process-wide instrumentation and export what is left."""


def tracing_wanted(settings: "Settings") -> bool:
    endpoint = settings.otel_exporter_otlp_traces_endpoint or settings.otel_exporter_otlp_endpoint
    return bool(endpoint) and not settings.otel_sdk_disabled


def new_tracing(settings: "Settings") -> Tracing:
    if not tracing_wanted(settings):
        return Tracing()
    from app.observability.otel import OpenTelemetryTracing  # only now: see the docstring

    return OpenTelemetryTracing(settings)
