"""A tiny OTLP/HTTP receiver: collects the spans real router and Server processes export, decoded
with opentelemetry-proto (what a collector or Jaeger would receive)."""

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    instance: str | None  # service.instance.id, when the process names one
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any] = field(hash=False)
    links: tuple[tuple[str, str], ...]  # (trace id, span id) of each linked span


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/traces")(self._export)

    async def _export(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            service=str(resource.get("service.name")),
                            instance=resource.get("service.instance.id"),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            links=tuple(
                                (link.trace_id.hex(), link.span_id.hex()) for link in span.links
                            ),
                        )
                    )
        with self._lock:
            self.spans.extend(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        return Response(answer, media_type=PROTOBUF)

    def find(self, check: Callable[[ReceivedSpan], bool]) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self.spans if check(span)]


# Export at once, not every five seconds: a test waits for spans, and one kills a router.
EXPORT_SOON = {"OTEL_BSP_SCHEDULE_DELAY": "50"}


def traced_env(receiver_url: str, service: str, instance: str | None = None) -> dict[str, str]:
    """The standard OTEL_* variables that send a process's spans to the receiver."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver_url,
        "OTEL_SERVICE_NAME": service,
        **EXPORT_SOON,
    }
    if instance is not None:
        env["OTEL_RESOURCE_ATTRIBUTES"] = f"service.instance.id={instance}"
    return env
