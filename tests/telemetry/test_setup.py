"""telemetry.setup: which exporter the settings choose, supplier calls as client spans, and an exporter that
is slow or down costing the caller nothing (bounded queue, every lost span counted)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import telemetry
from suppliers import ConferenceClient, Rejected
from suppliers.base import joined_trace
from telemetry.setup import (
    CountingBatchSpanProcessor,
    CountingExporter,
    Telemetry,
    _instrument_httpx,
    exporter_from,
)

FAKE_CONNECTION = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, ConsoleSpanExporter),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, OTLPSpanExporter),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, OTLPSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, OTLPSpanExporter),  # the SDK's default endpoint
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, None),  # not installed
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, None),
    ],
)
def test_the_otel_settings_choose_the_exporter(environ: dict[str, str], expected: type | None) -> None:
    chosen = exporter_from(environ)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is not None and isinstance(chosen[1], expected)


def test_an_application_insights_connection_string_wins_over_the_otel_settings() -> None:
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

    chosen = exporter_from(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": FAKE_CONNECTION, "OTEL_TRACES_EXPORTER": "console"}
    )
    assert chosen is not None
    name, exporter = chosen
    assert name == "azure_monitor" and isinstance(exporter, AzureMonitorTraceExporter)
    exporter.shutdown()


class _Blocked(SpanExporter):
    """An exporter stuck until released (an endpoint that does not answer), then delivering."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.delivered = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait()
        self.delivered += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_a_stuck_exporter_never_blocks_the_caller_and_what_its_full_queue_drops_is_counted() -> None:
    stuck = _Blocked()
    processor = CountingBatchSpanProcessor(CountingExporter(stuck), max_queue_size=8, max_export_batch_size=4)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    state = Telemetry(exporter="stuck", processor=processor, provider=provider)
    tracer = provider.get_tracer("test")
    for _ in range(4):  # one batch for the worker thread, which then hangs in export
        tracer.start_span("first").end()
    assert stuck.entered.wait(10)
    for _ in range(100):  # ends return while the exporter hangs: the queue takes 8, the rest push out
        tracer.start_span("while stuck").end()
    assert state.dropped == 100 - 8
    stuck.release.set()
    assert state.flush(10_000)
    assert state.exported == stuck.delivered == 4 + 8
    assert state.exported + state.dropped == 104
    state.shutdown()


def test_an_unreachable_otlp_endpoint_fails_its_batch_and_counts_it_dropped() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}/v1/traces"
    counting = CountingExporter(OTLPSpanExporter(endpoint=endpoint, timeout=1))
    provider = TracerProvider(shutdown_on_exit=False)
    memory = InMemorySpanExporter()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("test").start_span("lost").end()
    assert counting.export(memory.get_finished_spans()) is SpanExportResult.FAILURE
    assert (counting.exported, counting.failed) == (0, 1)
    counting.shutdown()


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"code": "booking_not_found", "title": "no such ticket"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        pass


@pytest.fixture
def supplier_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/conference/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def instrumented(spans: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    _instrument_httpx(provider)
    try:
        yield spans
    finally:
        HTTPXClientInstrumentor().uninstrument()


class _Trace:
    trace_parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    trace_state = ""


async def test_a_supplier_call_is_a_client_span_under_the_activity_and_its_traceparent_names_that_span(
    instrumented: InMemorySpanExporter, supplier_url: str
) -> None:
    async with httpx.AsyncClient(base_url=supplier_url) as http:
        client = ConferenceClient(http)
        with joined_trace(_Trace()), telemetry.scope(booking_id="bk_1", trip=1), telemetry.span("activity"):
            answer = await client.get("T-1")
    assert isinstance(answer, Rejected)
    finished = {s.name: s for s in instrumented.get_finished_spans()}
    call, activity = finished["GET conference"], finished["activity"]
    assert call.kind is trace.SpanKind.CLIENT
    assert call.context is not None and activity.context is not None and call.parent is not None
    assert call.parent.span_id == activity.context.span_id
    assert call.context.trace_id == activity.context.trace_id == int(_Trace.trace_parent[3:35], 16)
    attributes = dict(call.attributes or {})
    assert attributes["supplier.name"] == "conference" and attributes["booking.id"] == "bk_1"
    assert attributes["booking.trip"] == 1 and attributes["http.status_code"] == 404
    (headers,) = _Recorder.seen
    sent = headers["traceparent"]
    assert sent == f"00-{call.context.trace_id:032x}-{call.context.span_id:016x}-01"
