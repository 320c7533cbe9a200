"""Traces on (an OTLP endpoint set), with OpenTelemetry's in-memory exporter for the collector:
one trace joins a message's webhook, its job, the call to the Server and the Graph API send; a
status webhook about the reply links to it; the log lines carry its id."""

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind

from app.observability.otel import SkipOrphanClientSpans

from .. import graph_api
from ..conftest import APP_SECRET, make_settings, running_router
from ..meta import signed, status_update, text_message
from ..support import free_port


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider (one per process), exporting to memory; built as the
    router builds its own (orphan client spans dropped) unless a test installed one before."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(sampler=SkipOrphanClientSpans(ALWAYS_ON))
        trace.set_tracer_provider(provider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return spans


class ServerStandIn:
    """The Server's /process on a real socket (the router's client is instrumented at its
    transport, which a mock at the client would bypass); records each call's traceparent."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []
        self.url = f"http://127.0.0.1:{free_port()}"

    async def _process(self, request: web.Request) -> web.Response:
        self.traceparents.append(request.headers.get("traceparent"))
        text = (await request.json())["text"]
        return web.json_response({"original": text, "reply": f"re: {text}"})

    async def serve(self) -> AsyncIterator["ServerStandIn"]:
        app = web.Application()
        app.router.add_post("/process", self._process)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(self.url.rsplit(":", 1)[1])).start()
        try:
            yield self
        finally:
            await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[ServerStandIn]:
    async for serving in ServerStandIn().serve():
        yield serving


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def url_of(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full", attributes.get("http.url")))


def in_trace(spans: Sequence[ReadableSpan], trace_id: str) -> list[ReadableSpan]:
    return [span for span in spans if hex_trace(span) == trace_id]


async def test_one_trace_joins_the_webhook_the_job_the_server_and_the_graph_send(
    exporter: InMemorySpanExporter,
    server: ServerStandIn,
    graph_route: graph_api.GraphApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exporter.clear()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'router.db'}",
        server_base_url=server.url,
        otel_exporter_otlp_endpoint="http://127.0.0.1:9",
        log_format="json",
    )
    async with running_router(settings) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.traced.1", "hello"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()

        spans = exporter.get_finished_spans()
        [webhook] = [s for s in spans if s.name == "POST /webhook"]
        trace_id = hex_trace(webhook)
        joined = in_trace(spans, trace_id)
        [job] = [s for s in joined if s.name == "message.process"]
        assert job.parent is not None
        assert webhook.context is not None
        assert job.parent.span_id == webhook.context.span_id
        assert job.kind is SpanKind.CONSUMER
        clients = [s for s in joined if s.kind is SpanKind.CLIENT]
        urls = {url_of(s) for s in clients}
        assert f"{server.url}/process" in urls
        assert any(url.endswith("/messages") and url.startswith(graph_api.URL) for url in urls)
        # The Server was told the trace, to continue it.
        [traceparent] = server.traceparents
        assert traceparent is not None
        assert traceparent.split("-")[1] == trace_id
        # Meta's status about the reply: its span links to the message's trace.
        [send] = graph_route.calls
        wamid = json.loads(send.response.content)["messages"][0]["id"]  # type: ignore[union-attr]
        body, headers = signed(APP_SECRET, status_update(wamid, "delivered"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success

    [statuses] = [s for s in exporter.get_finished_spans() if s.name == "webhook.statuses"]
    assert [f"{link.context.trace_id:032x}" for link in statuses.links] == [trace_id]
    assert hex_trace(statuses) != trace_id  # a webhook of its own, linked
    # The query that found the message's trace context, in the status webhook's trace.
    queries = [
        s
        for s in in_trace(exporter.get_finished_spans(), hex_trace(statuses))
        if s.kind is SpanKind.CLIENT and "db.system" in (s.attributes or {})
    ]
    assert queries
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    replied = [line for line in lines if line.get("event") == "message.replied"]
    assert [line.get("trace_id") for line in replied] == [trace_id]


async def test_traces_off_send_no_trace_context_and_log_no_trace_id(
    graph_route: graph_api.GraphApi,
    server: ServerStandIn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'router.db'}",
        server_base_url=server.url,
        log_format="json",
    )
    async with running_router(settings) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.untraced.1", "hello"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()

    assert server.traceparents == [None]
    lines: list[dict[str, Any]] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line
    ]
    assert lines
    assert not any("trace_id" in line for line in lines)
