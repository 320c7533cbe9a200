"""Traces on (an OTLP endpoint set): the Server's request is a span of the caller's trace, named
by its `traceparent`, and its log lines carry the trace's id. OpenTelemetry's in-memory exporter
stands in for the collector."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.main import create_app
from app.settings import get_settings
from tests.conftest import client_for

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
SERVER = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider (there is one per process), exporting to memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return spans


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter) -> Iterator[None]:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("LOG_FORMAT", "json")
    get_settings.cache_clear()
    exporter.clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("traced")
async def test_a_request_continues_the_callers_trace_and_logs_its_id(
    exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(create_app()) as client:
        response = await client.post(
            "/process",
            json={"text": "Hello"},
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "X-Request-ID": "r1"},
        )

    assert response.status_code == 200
    [span] = [s for s in exporter.get_finished_spans() if s.name == "POST /process"]
    assert span.context is not None
    assert span.parent is not None
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    [replied] = [line for line in lines if line["event"] == "process.replied"]
    assert replied["trace_id"] == TRACE_ID
    assert replied["request_id"] == "r1"


def test_without_an_endpoint_nothing_of_opentelemetrys_sdk_is_loaded() -> None:
    # A fresh interpreter: this one has loaded the SDK for the test above.
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import app\n"
        "with TestClient(app) as client:\n"
        "    assert client.post('/process', json={'text': 'hi'}).status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk',"
        " 'opentelemetry.instrumentation', 'opentelemetry.exporter', 'app.tracing'))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=SERVER, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip().splitlines()[-1] == "[]"
