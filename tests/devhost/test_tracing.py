"""devhost.tracing: which traceparent a function gets for an incoming request (PROTOCOL.md §35)."""

from __future__ import annotations

import re

import pytest
from multidict import CIMultiDict

from devhost.tracing import (
    MAX_TRACESTATE,
    TraceContext,
    clean_tracestate,
    from_dtfx,
    from_headers,
    incoming,
    new_trace,
    parse_traceparent,
    to_dtfx,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{SPAN}-01"
W3C_V00 = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")

HOSTILE = {
    "empty": "",
    "future version": f"01-{TRACE}-{SPAN}-01",
    "version ff": f"ff-{TRACE}-{SPAN}-01",
    "all-zero trace id": f"00-{'0' * 32}-{SPAN}-01",
    "all-zero parent id": f"00-{TRACE}-{'0' * 16}-01",
    "short trace id": f"00-{TRACE[:-1]}-{SPAN}-01",
    "long parent id": f"00-{TRACE}-{SPAN}a-01",
    "short flags": f"00-{TRACE}-{SPAN}-1",
    "non-hex": f"00-{TRACE[:-1]}g-{SPAN}-01",
    "uppercase": VALID.upper(),
    "trailing data": VALID + "-extra",
    "oversize": VALID + "x" * 4000,  # under the server's 8190-byte header line limit
    "leading space": " " + VALID[:-1],
    "newline injection": VALID[:-2] + "\n",
    "wrong separators": VALID.replace("-", "_"),
    "unicode digits": f"00-{TRACE[:-1]}\u0661-{SPAN}-01",
}


def test_valid_traceparent_is_parsed() -> None:
    assert parse_traceparent(VALID) == TraceContext(TRACE, SPAN, "01")


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_traceparent_is_refused(value: str) -> None:
    assert parse_traceparent(value) is None


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_traceparent_starts_a_new_trace_and_is_never_kept(value: str) -> None:
    ctx = incoming([value], ["vendor=kept-only-with-a-valid-parent"])
    assert W3C_V00.fullmatch(ctx.traceparent)
    assert ctx.trace_id != TRACE
    assert not value or value not in ctx.traceparent
    assert ctx.state == ""  # a tracestate is meaningless without a valid parent


def test_valid_parent_gives_a_child_in_the_same_trace() -> None:
    ctx = incoming([VALID], ["congo=t61rcWkgMzE"])
    assert (ctx.trace_id, ctx.flags, ctx.state) == (TRACE, "01", "congo=t61rcWkgMzE")
    assert ctx.span_id != SPAN and W3C_V00.fullmatch(ctx.traceparent)


def test_two_traceparent_headers_start_a_new_trace() -> None:
    headers = CIMultiDict([("traceparent", VALID), ("Traceparent", VALID)])
    ctx = from_headers(headers)
    assert ctx.trace_id != TRACE


def test_no_header_starts_a_new_sampled_trace() -> None:
    ctx = from_headers(CIMultiDict())
    assert W3C_V00.fullmatch(ctx.traceparent) and ctx.flags == "01"
    assert ctx.trace_id != "0" * 32 and ctx.span_id != "0" * 16
    assert new_trace().trace_id != new_trace().trace_id


def test_header_names_are_case_insensitive() -> None:
    assert from_headers(CIMultiDict([("TraceParent", VALID)])).trace_id == TRACE


@pytest.mark.parametrize(
    "values",
    [["a=1" + "x" * MAX_TRACESTATE], ["a=\u00e9"], ["a=1\r\nInjected: yes"]],
    ids=["oversize", "non-ascii", "control characters"],
)
def test_bad_tracestate_is_dropped(values: list[str]) -> None:
    assert clean_tracestate(values) == ""
    assert incoming([VALID], values).state == ""


def test_several_tracestate_headers_join_with_commas() -> None:
    assert clean_tracestate(["a=1", " b=2 ", ""]) == "a=1,b=2"


def test_dtfx_shape_round_trips() -> None:
    ctx = TraceContext(TRACE, SPAN, "00", "a=1")
    stored = to_dtfx(ctx)
    assert stored == {"TraceParent": VALID[:-1] + "0", "TraceState": "a=1", "Id": None, "SpanId": None,
                      "ActivityStartTime": None}
    assert from_dtfx(stored) == ctx
    assert to_dtfx(TraceContext(TRACE, SPAN, "01"))["TraceState"] is None


@pytest.mark.parametrize("stored", [None, "text", {}, {"TraceParent": None}, {"TraceParent": "00-bad"}])
def test_unreadable_stored_context_is_none(stored: object) -> None:
    assert from_dtfx(stored) is None
