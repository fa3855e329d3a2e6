"""An OTLP/HTTP trace receiver on 127.0.0.1 (protobuf over POST /v1/traces), for tests and benchmarks:
what a collector would get from a process whose OTEL_EXPORTER_OTLP_ENDPOINT names `receiver.url`.

    with OtlpReceiver() as receiver:
        ...  # run a process with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url
        spans = receiver.of_trace(trace_id)

Run as a program, it is a local collector that prints one line per span it receives (README, Observability):

    .venv/bin/python -m tests.support.otlp --port 4318
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class Received:
    """One span as the receiver decoded it (ids as W3C hex)."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status: int
    resource: dict[str, Any]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


class OtlpReceiver:
    """An OTLP/HTTP trace receiver (protobuf over POST /v1/traces): what a collector would get."""

    def __init__(self, port: int = 0, on_spans: Callable[[list[Received]], None] | None = None) -> None:
        self.spans: list[Received] = []
        self._on_spans = on_spans
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _add(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        Received(
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            status=span.status.code,
                            resource=resource,
                        )
                    )
        with self._lock:
            self.spans.extend(received)
            if self._on_spans is not None:
                self._on_spans(received)

    def of_trace(self, trace_id: str) -> list[Received]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.spans)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


_KINDS = {0: "-", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
# The attributes a line shows (what the span is about), by a short label; the rest stay in the receiver.
_SHOWN = {
    "booking.id": "booking",
    "booking.trip": "trip",
    "supplier.name": "supplier",
    "http.status_code": "http",
    "error.type": "error",
    "durabletask.task.status": "status",
}


def line(span: Received) -> str:
    """`trace-id span-id<-parent-id kind name {booking=… trip=… supplier=… http=… error=…}`, ids shortened
    to 8 characters (`root` when the span has no parent)."""
    parent = span.parent_id[:8] or "root"
    kind = _KINDS.get(span.kind, "?")
    attributes = span.attributes
    shown = " ".join(f"{label}={attributes[key]}" for key, label in _SHOWN.items() if key in attributes)
    return f"{span.trace_id[:8]} {span.span_id[:8]}<-{parent} {kind:8} {span.name} {{{shown}}}"


def main() -> None:
    parser = argparse.ArgumentParser(description="A local OTLP/HTTP trace receiver printing each span.")
    parser.add_argument("--port", type=int, default=4318, help="OTLP/HTTP's usual port by default")
    args = parser.parse_args()

    def show(spans: list[Received]) -> None:
        for span in spans:
            print(line(span), flush=True)

    with OtlpReceiver(port=args.port, on_spans=show) as receiver:
        print(f"OTLP/HTTP receiver on {receiver.url}/v1/traces (Ctrl-C stops)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
