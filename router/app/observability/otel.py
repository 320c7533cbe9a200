"""Traces on: OpenTelemetry's SDK, its OTLP/HTTP exporter and the standard instrumentations.

Every import of them is here, and this module is loaded only when traces are on (tracing.py). The
standard `OTEL_*` variables configure the rest: `OTEL_SERVICE_NAME` (default `router`),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`...

A process has one tracer provider: the one already installed, if any (a test's, or the
`opentelemetry-instrument` launcher's), else one built here on the first app and installed.
"""

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import aiohttp
import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    _get_from_env_or_default,
)
from opentelemetry.trace import Link, SpanKind, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

from app.messages.models import MessageRow
from app.observability.tracing import Tracing
from app.settings import Settings

W3C = TraceContextTextMapPropagator()
# Requests not worth a span: probes and scrapes, several a minute each.
EXCLUDED_URLS = "/health,/metrics"


class SkipOrphanClientSpans(Sampler):
    """Drops a client span (a query, an HTTP call) that has no parent: the group-commit writer's
    rounds, which serve many messages at once, the sweep, the heartbeat. They belong to no
    message's trace, and there are many of them. Anything else is `inner`'s decision
    (`OTEL_TRACES_SAMPLER`; by default every trace)."""

    def __init__(self, inner: Sampler) -> None:
        self._inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"SkipOrphanClientSpans{{{self._inner.get_description()}}}"


@functools.cache
def tracer_provider(service_name: str, endpoint: str) -> trace.TracerProvider:
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):
        return installed
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=SkipOrphanClientSpans(_get_from_env_or_default()),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def traces_endpoint(settings: Settings) -> str:
    """OTLP/HTTP's traces URL, as the exporter itself would read it from the environment (the
    settings read `.env` too)."""
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    base = settings.otel_exporter_otlp_endpoint or ""
    return f"{base.rstrip('/')}/v1/traces"


def context_of(traceparent: str) -> Context:
    return W3C.extract({"traceparent": traceparent})


class OpenTelemetryTracing(Tracing):
    enabled = True

    def __init__(self, settings: Settings) -> None:
        self._provider = tracer_provider(settings.otel_service_name, traces_endpoint(settings))
        self._tracer = self._provider.get_tracer("app.observability")
        self._sqlalchemy: SQLAlchemyInstrumentor | None = None

    def instrument_app(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self._provider,
            excluded_urls=EXCLUDED_URLS,
            # ASGI's per-message spans: two or three more per request, saying little.
            exclude_spans=["receive", "send"],
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        self._sqlalchemy = SQLAlchemyInstrumentor()
        self._sqlalchemy.instrument(
            engine=engine.sync_engine,
            tracer_provider=self._provider,
            # Its package declares SQLAlchemy < 2.1 and would do nothing on ours (2.1): the events
            # it listens to are unchanged, and tests/observability/test_tracing.py checks its spans.
            skip_dep_check=True,
        )

    def instrument_client(self, client: httpx.AsyncClient) -> None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self._provider)

    def graph_trace_configs(self) -> list[aiohttp.TraceConfig]:
        return [create_trace_config(tracer_provider=self._provider)]

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        W3C.inject(carrier)
        return carrier.get("traceparent")

    def job(self, message: MessageRow) -> AbstractContextManager[Any]:
        # A message stored without one (traces were off) starts a trace of its own, not a child
        # of whatever span queued its job (in-process, the previous message's job).
        parent = context_of(message.traceparent) if message.traceparent else Context()
        return self._tracer.start_as_current_span(
            "message.process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "router.message_id": message.id,
                "router.direction": message.direction,
                "router.attempt": message.attempts,
                "messaging.message.id": message.wamid or "",
            },
        )

    def statuses(self, traceparents: Sequence[str], count: int) -> None:
        links = []
        for traceparent in dict.fromkeys(traceparents):
            linked = trace.get_current_span(context_of(traceparent)).get_span_context()
            if linked.is_valid:
                links.append(Link(linked))
        span = self._tracer.start_span(
            "webhook.statuses", links=links, attributes={"router.statuses": count}
        )
        span.end()

    def trace_id(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return format_trace_id(context.trace_id) if context.is_valid else None

    def close(self) -> None:
        if self._sqlalchemy is not None:
            self._sqlalchemy.uninstrument()
            self._sqlalchemy = None
        flush = getattr(self._provider, "force_flush", None)
        if flush is not None:
            flush()
