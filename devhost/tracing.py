"""W3C trace context (www.w3.org/TR/trace-context) as devhost gives it to functions (PROTOCOL.md §35).

An incoming ``traceparent`` is trusted only when it is exactly a version-00 header: one header, 55
characters, lowercase hex, non-zero trace and parent ids. Anything else starts a new trace; the bad
value is dropped here and never reaches a function, a log line or a response. ``tracestate`` is kept
only with a valid parent, and only when it is short printable ASCII.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.functions import _abc

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
# W3C: a tracestate of more than 512 characters may be dropped whole; DTFx keeps at most 513.
MAX_TRACESTATE = 512
# A new trace is marked sampled, so an app that joins it records its spans (a parent-based sampler).
_NEW_TRACE_FLAGS = "01"


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str
    state: str = ""
    # The span this one is a child of ('' for a root): devhost's own span of it names it as its parent.
    parent_id: str = ""

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        """A new span in the same trace (same flags and state)."""
        return TraceContext(self.trace_id, _new_span_id(), self.flags, self.state, self.span_id)


def _new_span_id() -> str:
    while (span := secrets.token_hex(8)) == _ZERO_SPAN:
        pass  # pragma: no cover - one chance in 2**64
    return span


def new_trace() -> TraceContext:
    while (trace := secrets.token_hex(16)) == _ZERO_TRACE:
        pass  # pragma: no cover
    return TraceContext(trace, _new_span_id(), _NEW_TRACE_FLAGS)


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The parent a single header value names, or None when it is not a valid version-00 traceparent."""
    if value is None or len(value) != 55:
        return None
    m = _TRACEPARENT.fullmatch(value)
    if m is None or m.group(1) == _ZERO_TRACE or m.group(2) == _ZERO_SPAN:
        return None
    return TraceContext(m.group(1), m.group(2), m.group(3))


def clean_tracestate(values: Sequence[str]) -> str:
    """Several tracestate headers join with commas (W3C); too long or not printable ASCII → dropped."""
    joined = ",".join(v.strip() for v in values if v.strip())
    if len(joined) > MAX_TRACESTATE or not all(" " <= c <= "~" for c in joined):
        return ""
    return joined


def incoming(traceparents: Sequence[str], tracestates: Sequence[str] = ()) -> TraceContext:
    """The context of a request handled under the given headers: a child of a valid parent (same trace,
    new span), else a new trace. Two traceparent headers are ambiguous, hence invalid."""
    parent = parse_traceparent(traceparents[0]) if len(traceparents) == 1 else None
    if parent is None:
        return new_trace()
    return TraceContext(parent.trace_id, parent.span_id, parent.flags, clean_tracestate(tracestates)).child()


def from_headers(headers: Any) -> TraceContext:
    """`incoming` for an aiohttp/multidict request's headers (case-insensitive, repeated headers kept)."""
    return incoming(headers.getall("traceparent", []), headers.getall("tracestate", []))


# ---------------------------------------------------------------- DTFx's DistributedTraceContext
def to_dtfx(ctx: TraceContext) -> dict[str, Any]:
    """DurableTask.Core.Tracing.DistributedTraceContext as DTFx serializes it (every DataMember; Id, SpanId
    and ActivityStartTime are filled on the first episode by the orchestration span, when spans are emitted:
    devhost.spans.stamp_orchestration)."""
    return {"TraceParent": ctx.traceparent, "TraceState": ctx.state or None, "Id": None, "SpanId": None,
            "ActivityStartTime": None}


def from_dtfx(value: Any) -> TraceContext | None:
    """The context a stored ParentTraceContext names; None when absent or unreadable."""
    if not isinstance(value, Mapping):
        return None
    text = value.get("TraceParent")
    parent = parse_traceparent(text if isinstance(text, str) else None)
    if parent is None:
        return None
    state = value.get("TraceState")
    return TraceContext(parent.trace_id, parent.span_id, parent.flags,
                        clean_tracestate([state]) if isinstance(state, str) else "")


# ---------------------------------------------------------------- what a function receives
class FunctionTraceContext(_abc.TraceContext):
    """``context.trace_context`` as the Python worker fills it from the host's invocation request."""

    def __init__(self, ctx: TraceContext | None = None) -> None:
        self._parent = ctx.traceparent if ctx is not None else ""
        self._state = ctx.state if ctx is not None else ""

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}
