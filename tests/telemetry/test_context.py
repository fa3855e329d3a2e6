"""telemetry.context: scope attributes on spans, errors without messages, the invocation's trace joined."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import telemetry
from suppliers.base import joined_trace

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


class _Trace:
    trace_parent = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"
    trace_state = "vendor=1"


def test_spans_in_a_scope_carry_its_attributes_and_nested_scopes_add_to_them(
    spans: InMemorySpanExporter,
) -> None:
    with telemetry.scope(booking_id="bk_1", instance_id="bk_1:trip:0", trip=0):
        with telemetry.span("outer"), telemetry.scope(supplier="airline"), telemetry.span("inner"):
            pass
    with telemetry.span("outside"):
        pass
    by_name = {s.name: dict(s.attributes or {}) for s in spans.get_finished_spans()}
    assert by_name["outer"] == {"booking.id": "bk_1", "booking.instance_id": "bk_1:trip:0", "booking.trip": 0}
    assert by_name["inner"] == {**by_name["outer"], "supplier.name": "airline"}
    assert by_name["outside"] == {}
    assert telemetry.current_attributes() == {}


@pytest.mark.parametrize("bad", ["", "x" * 129, "ünïcode", "line\nbreak", None])
def test_a_value_that_is_empty_long_or_not_printable_ascii_is_left_out(bad: str | None) -> None:
    with telemetry.scope(booking_id=bad, supplier="hotel"):
        assert telemetry.current_attributes() == {"supplier.name": "hotel"}


def test_a_failed_span_names_the_exception_type_and_never_its_message(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError), telemetry.span("failing"):
        raise ValueError("ada.lovelace@example.com was refused")
    (failed,) = spans.get_finished_spans()
    assert failed.status.status_code is trace.StatusCode.ERROR
    assert failed.status.description == "ValueError"
    assert dict(failed.attributes or {}) == {"error.type": "ValueError"}
    assert not failed.events  # no exception event: its message and stack would be attributes
    assert "example.com" not in failed.to_json()


def test_a_span_in_a_joined_trace_is_the_child_of_the_invocations_context(
    spans: InMemorySpanExporter,
) -> None:
    with joined_trace(_Trace()), telemetry.span("activity book_flight"):
        pass
    (span,) = spans.get_finished_spans()
    assert span.context is not None and span.parent is not None
    assert format(span.context.trace_id, "032x") == PARENT_TRACE
    assert format(span.parent.span_id, "016x") == PARENT_SPAN
    assert span.parent.is_remote


def test_an_invalid_trace_context_starts_a_new_trace(spans: InMemorySpanExporter) -> None:
    class Hostile:
        trace_parent = "00-" + "0" * 32 + "-" + "0" * 16 + "-01"
        trace_state = ""

    with joined_trace(Hostile()), telemetry.span("start booking"):
        pass
    (span,) = spans.get_finished_spans()
    assert span.parent is None and span.context is not None and span.context.trace_id != 0
