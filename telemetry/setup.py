"""Configure telemetry once per process, from the environment (the app settings).

- APPLICATIONINSIGHTS_CONNECTION_STRING set → spans to Azure Monitor (the exporter itself reads
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING for Entra ID ingestion, as infra sets it).
- else OTEL_TRACES_EXPORTER: `otlp` (OTLP/HTTP to OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT), `console`
  (stdout) or `none`; unset, it is `otlp` when an OTLP endpoint is set and `none` otherwise.
- OTEL_SDK_DISABLED=true, or no exporter: no tracer provider, no httpx patch (nothing to pay for); the
  invocation's W3C trace still reaches the suppliers and the log lines (suppliers.base, telemetry.context).

Export runs on the BatchSpanProcessor's thread over a bounded queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048 by
default): an exporter that is slow or down costs a booking nothing; what does not fit is dropped and
counted (`Telemetry.dropped`). LOG_FORMAT=json makes console log lines JSON (telemetry.logs).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)

from telemetry.context import ScopeSpanProcessor, current_attributes, install_log_context
from telemetry.logs import install_log_format

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "conference-trips"
# At exit, pending spans get this long to leave; an exporter that is down must not hold the process.
EXIT_FLUSH_MILLIS = 2000
# The SDK warns once per span it drops; a counted summary says the same without flooding the log.
_SDK_QUEUE_LOGGER = "opentelemetry.sdk._shared_internal"


class CountingExporter(SpanExporter):
    """The real exporter, counting what it delivered and what it failed to (and so dropped)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self.failed = 0
        self.in_flight = 0  # in the batch being exported now (an exporter retrying holds it a while)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.in_flight = len(spans)
        try:
            result = self.inner.export(spans)
        except Exception:  # noqa: BLE001 - an exporter's failure is a count, never the app's error
            result = SpanExportResult.FAILURE
        finally:
            self.in_flight = 0
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """BatchSpanProcessor that counts the spans its full queue pushed out."""

    def __init__(
        self,
        exporter: CountingExporter,
        max_queue_size: int | None = None,
        max_export_batch_size: int | None = None,
    ) -> None:
        """Sizes and delays default to the OTEL_BSP_* settings, as BatchSpanProcessor's do."""
        super().__init__(exporter, max_queue_size=max_queue_size, max_export_batch_size=max_export_batch_size)
        self.exporter = exporter
        self.overflowed = 0
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._batch_processor._queue  # a bounded deque: a span added when full pushes one out
        if span.context is not None and span.context.trace_flags.sampled and len(queue) == queue.maxlen:
            with self._lock:
                self.overflowed += 1
                first = self.overflowed == 1
            if first:
                log.warning("telemetry: the span queue is full (exporter slow or down); spans are dropped")
        super().on_end(span)


@dataclass
class Telemetry:
    """What `configure` set up: `exporter` is None when nothing is exported."""

    exporter: str | None = None
    log_format: str = "text"
    processor: CountingBatchSpanProcessor | None = field(default=None, repr=False)
    provider: TracerProvider | None = field(default=None, repr=False)

    @property
    def dropped(self) -> int:
        """Spans lost: pushed out of the full queue, or in a batch the exporter failed to deliver."""
        if self.processor is None:
            return 0
        return self.processor.overflowed + self.processor.exporter.failed

    @property
    def exported(self) -> int:
        return 0 if self.processor is None else self.processor.exporter.exported

    def flush(self, timeout_millis: int = 5000) -> bool:
        return True if self.provider is None else self.provider.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: int = EXIT_FLUSH_MILLIS) -> None:
        """Give queued spans `timeout_millis` to leave, then say what became of every span (one line)."""
        if self.processor is None:
            return
        self.processor._batch_processor.shutdown(timeout_millis=timeout_millis)
        left = len(self.processor._batch_processor._queue) + self.processor.exporter.in_flight
        log.info(
            "telemetry: %d spans exported, %d dropped, %d left unsent at exit",
            self.exported, self.dropped, left,
        )


_lock = threading.Lock()
_configured: Telemetry | None = None


def configure(environ: Mapping[str, str] | None = None) -> Telemetry:
    """Set up telemetry for this process from `environ` (os.environ); later calls return the first result."""
    global _configured
    with _lock:
        if _configured is None:
            _configured = _configure(os.environ if environ is None else environ)
        return _configured


def _configure(environ: Mapping[str, str]) -> Telemetry:
    log_format = "json" if environ.get("LOG_FORMAT", "").strip().lower() == "json" else "text"
    install_log_context()
    install_log_format(log_format)
    chosen = exporter_from(environ)
    if chosen is None:
        return Telemetry(log_format=log_format)
    name, exporter = chosen
    service = environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}), shutdown_on_exit=False)
    provider.add_span_processor(ScopeSpanProcessor())
    processor = CountingBatchSpanProcessor(CountingExporter(exporter))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    logging.getLogger(_SDK_QUEUE_LOGGER).setLevel(logging.ERROR)
    _instrument_httpx(provider)
    configured = Telemetry(exporter=name, log_format=log_format, processor=processor, provider=provider)
    atexit.register(configured.shutdown)
    log.info("telemetry: spans exported to %s", name)
    return configured


def exporter_from(environ: Mapping[str, str]) -> tuple[str, SpanExporter] | None:
    """The exporter the settings ask for, named; None for none."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip():
        from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

        connection = environ["APPLICATIONINSIGHTS_CONNECTION_STRING"].strip()
        return "azure_monitor", AzureMonitorTraceExporter(connection_string=connection)
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    default = "otlp" if endpoint else "none"
    name = (environ.get("OTEL_TRACES_EXPORTER") or default).split(",")[0].strip().lower()
    if name == "console":
        return "console", ConsoleSpanExporter(service_name=environ.get("OTEL_SERVICE_NAME"))
    if name == "otlp":
        protocol = (
            environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        if protocol.strip().lower() != "http/protobuf":
            log.warning("telemetry: OTLP protocol %r is not installed (http/protobuf is); no spans exported",
                        protocol[:40])
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return "otlp", OTLPSpanExporter()
    if name != "none":
        log.warning("telemetry: unknown OTEL_TRACES_EXPORTER %r; no spans exported", name[:40])
    return None


def _name_after_supplier(span: trace.Span, request: Any) -> None:
    """httpx names its span after the method only; a supplier call is named `POST airline`."""
    supplier = current_attributes().get("supplier.name")
    method = getattr(request, "method", b"")
    if supplier and span.is_recording():
        verb = method.decode("ascii", "replace") if isinstance(method, bytes) else str(method)
        span.update_name(f"{verb} {supplier}")


async def _name_after_supplier_async(span: trace.Span, request: Any) -> None:
    _name_after_supplier(span, request)


def _instrument_httpx(provider: TracerProvider) -> None:
    """A client span for every httpx request (the supplier calls), child of the current span; the
    instrumentation also puts that span's `traceparent` on the request."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(
        tracer_provider=provider,
        request_hook=_name_after_supplier,
        async_request_hook=_name_after_supplier_async,
    )
