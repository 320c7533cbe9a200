"""Traces on: the Server's requests as spans of the Router's traces (OpenTelemetry's standard
FastAPI instrumentation continues the trace from the Router's `traceparent` header).

Every import of OpenTelemetry's SDK, exporter and instrumentation is here; `main.py` loads this
module only when an OTLP endpoint is set. The standard OTEL_* variables configure the rest
(`OTEL_SERVICE_NAME`, default `server`; headers, sampler, batch sizes).
"""

import functools

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import format_trace_id

from app.settings import Settings

EXCLUDED_URLS = "/health,/metrics"


@functools.cache
def tracer_provider(service_name: str, endpoint: str) -> trace.TracerProvider:
    """The process's provider: the one installed already (a test's, or the
    `opentelemetry-instrument` launcher's), else one exporting over OTLP/HTTP, installed."""
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):
        return installed
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def traces_endpoint(settings: Settings) -> str:
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    return f"{(settings.otel_exporter_otlp_endpoint or '').rstrip('/')}/v1/traces"


def instrument(app: FastAPI, settings: Settings) -> None:
    provider = tracer_provider(settings.otel_service_name, traces_endpoint(settings))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


def trace_id() -> str | None:
    """The current trace's id, for log lines."""
    context = trace.get_current_span().get_span_context()
    return format_trace_id(context.trace_id) if context.is_valid else None
