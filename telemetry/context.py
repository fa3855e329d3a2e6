"""What the current work is about (booking, trip, supplier, invocation), for every span and log line in it.

`scope` keeps a few named attributes in a context variable for the duration of a block; nested scopes add
to the outer ones. `ScopeSpanProcessor` copies them onto every span started inside (the httpx spans too),
and `install_log_context` onto every log record, with the current trace and span ids. Only the keywords
of `scope` exist, each with a short, printable value: a traveller's name or email, a card or a secret has
no keyword to travel by.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

TRACER_NAME = "conference-trips"
# The keyword of `scope` → the attribute's name on spans and in JSON log lines.
KEYS = MappingProxyType(
    {
        "booking_id": "booking.id",
        "instance_id": "booking.instance_id",
        "trip": "booking.trip",
        "supplier": "supplier.name",
        "function": "faas.name",
        "invocation_id": "faas.invocation_id",
    }
)
_MAX_VALUE = 128
_EMPTY: Mapping[str, str | int] = MappingProxyType({})
_current: ContextVar[Mapping[str, str | int]] = ContextVar("telemetry_scope", default=_EMPTY)


def _clean(value: object) -> str | int | None:
    """An int, or a short printable ASCII string; anything else (None, long or odd text) is left out."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and 0 < len(value) <= _MAX_VALUE and value.isascii() and value.isprintable():
        return value
    return None


@contextmanager
def scope(
    *,
    booking_id: str | None = None,
    instance_id: str | None = None,
    trip: int | None = None,
    supplier: str | None = None,
    function: str | None = None,
    invocation_id: str | None = None,
) -> Iterator[None]:
    """Within the block, spans and log lines carry these attributes (and the outer scope's)."""
    given = {
        "booking_id": booking_id,
        "instance_id": instance_id,
        "trip": trip,
        "supplier": supplier,
        "function": function,
        "invocation_id": invocation_id,
    }
    merged = dict(_current.get())
    for keyword, value in given.items():
        if (clean := _clean(value)) is not None:
            merged[KEYS[keyword]] = clean
    token = _current.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _current.reset(token)


def current_attributes() -> Mapping[str, str | int]:
    """The attributes of the innermost scope (attribute names as on spans: `booking.id`, …)."""
    return _current.get()


@contextmanager
def span(name: str, kind: trace.SpanKind = trace.SpanKind.INTERNAL) -> Iterator[trace.Span]:
    """A span for the block, child of the current context (the invocation's trace once joined).

    A failure marks the span as an error with the exception's type only: an exception's message may
    quote a supplier's answer, and a span attribute is not the place to find out whether it does."""
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, kind=kind, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_attribute("error.type", type(exc).__qualname__)
            current.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__qualname__))
            raise


class ScopeSpanProcessor(SpanProcessor):
    """Puts the current scope's attributes on every span as it starts (before any exporter sees it)."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        attributes = _current.get()
        if attributes:
            span.set_attributes(dict(attributes))

    def on_end(self, span: ReadableSpan) -> None:
        pass


def trace_ids() -> tuple[str | None, str | None]:
    """The current trace id and span id as W3C hex, or (None, None) outside any valid trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def install_log_context() -> None:
    """Every log record created from now on carries `record.telemetry`: the current scope's attributes
    and the trace and span ids (what the formatter prints). Installed once; chains the previous factory."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_telemetry", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        fields: dict[str, str | int] = dict(_current.get())
        trace_id, span_id = trace_ids()
        if trace_id is not None and span_id is not None:
            fields["trace_id"] = trace_id
            fields["span_id"] = span_id
        record.telemetry = fields
        return record

    factory._telemetry = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
