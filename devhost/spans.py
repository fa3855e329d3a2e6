"""The Durable extension's Distributed Tracing (V2) spans, as devhost emits them (PROTOCOL.md §35).

On when host.json says ``extensions.durableTask.tracing`` ``distributedTracingEnabled: true`` with
``version: V2`` AND the standard OpenTelemetry environment names an exporter (``OTEL_TRACES_EXPORTER``
``otlp``/``console``; unset, ``otlp`` when an ``OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT`` is set). Off, every
hook is one ``None`` check: no provider, no thread, no span object.

The spans carry the ids devhost already hands to functions and writes into the history, so the chain an app
sees is whole:

    POST /api/x (server)                  span id = the HTTP function's context.trace_context
      └ the app's spans → management start
        create_orchestration:{name} (producer)   span id = ExecutionStarted.ParentTraceContext.TraceParent's
          orchestration:{name} (server)          span id = ExecutionStarted.ParentTraceContext.SpanId
            activity:{name} (client)             span id = TaskScheduled.ParentTraceContext.TraceParent's
              activity:{name} (server)           span id = the activity's context.trace_context
            orchestration:{child} (client)       span id = SubOrchestrationInstanceCreated.ClientSpanId

Each span is emitted once, from new events only (never from a replayed history), after the episode that
made it was stored; export happens on the BatchSpanProcessor's thread over its bounded queue.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from devhost import history as h
from devhost.history import EventType, RuntimeStatus
from devhost.store.base import InstanceRecord
from devhost.tracing import TraceContext, from_dtfx, parse_traceparent

log = logging.getLogger("devhost.spans")

DEFAULT_SERVICE_NAME = "devhost"
EXIT_FLUSH_MILLIS = 2000
# DTFx Tracing/Schema.cs: the attribute names of every Durable span.
TYPE = "durabletask.type"
TASK_NAME = "durabletask.task.name"
VERSION = "durabletask.task.version"
INSTANCE_ID = "durabletask.task.instance_id"
EXECUTION_ID = "durabletask.task.execution_id"
STATUS = "durabletask.task.status"
TASK_ID = "durabletask.task.task_id"


def span_name(kind: str, name: str, version: str | None = None) -> str:
    """DTFx TraceHelper.CreateSpanName: `kind:name`, or `kind:name@(version)` with a version."""
    return f"{kind}:{name}@({version})" if version else f"{kind}:{name}"


# ---------------------------------------------------------------- the provider, chosen ids
class _ChosenIds(IdGenerator):
    """The SDK asks its id generator for a span's ids; devhost's spans have theirs already (written into the
    history or handed to a function), so the id of the span being started is set here for that one call."""

    def __init__(self) -> None:
        self.chosen: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
            "devhost_span_ids", default=None
        )
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        ids = self.chosen.get()
        return ids[1] if ids else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        ids = self.chosen.get()
        return ids[0] if ids else self._random.generate_trace_id()


class _Exporting:
    def __init__(self, exporter: SpanExporter, service: str) -> None:
        self.ids = _ChosenIds()
        self.provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service}), id_generator=self.ids, shutdown_on_exit=False
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("DurableTask.Core")

    def emit(
        self,
        name: str,
        kind: SpanKind,
        ctx: TraceContext,
        parent_id: str,
        start: dt.datetime | int,
        end: dt.datetime | int | None,
        attributes: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        """One finished span with span id `ctx.span_id` in trace `ctx.trace_id`, child of `parent_id` (''
        for a root). Times are datetimes or epoch nanoseconds; no end means now."""
        flags = TraceFlags(int(ctx.flags, 16) & 1)
        parent = set_span_in_context(NonRecordingSpan(SpanContext(
            int(ctx.trace_id, 16), int(parent_id, 16), is_remote=True, trace_flags=flags,
        ))) if parent_id else None
        token = self.ids.chosen.set((int(ctx.trace_id, 16), int(ctx.span_id, 16)))
        try:
            span = self.tracer.start_span(
                name, context=parent, kind=kind, attributes=dict(attributes), start_time=_ns(start)
            )
        finally:
            self.ids.chosen.reset(token)
        if error is not None:
            span.set_status(StatusCode.ERROR, error[:1000])
        span.end(end_time=_ns(end) if end is not None else None)

    def shutdown(self) -> None:
        """Queued spans get EXIT_FLUSH_MILLIS to leave. The flush and shutdown run in a daemon thread: an
        exporter retrying against an endpoint that is down (its export holds the flush) never holds the
        host's stop."""
        def flush_and_shut() -> None:
            self.provider.force_flush(EXIT_FLUSH_MILLIS)
            self.provider.shutdown()

        closing = threading.Thread(target=flush_and_shut, name="devhost-spans-shutdown", daemon=True)
        closing.start()
        closing.join(EXIT_FLUSH_MILLIS / 1000)


def _ns(t: dt.datetime | int) -> int:
    return t if isinstance(t, int) else int(t.timestamp() * 1_000_000_000)


_on: _Exporting | None = None
_test_exporter: SpanExporter | None = None


def export_to(exporter: SpanExporter | None) -> None:
    """Tests: the next host started with distributed tracing on exports here instead of the environment's."""
    global _test_exporter
    _test_exporter = exporter


def exporter_from(environ: Mapping[str, str]) -> SpanExporter | None:
    """The exporter the standard OTEL_* settings name (OTLP/HTTP or console), or None."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    chosen = environ.get("OTEL_TRACES_EXPORTER") or ("otlp" if endpoint else "none")
    name = chosen.split(",")[0].strip().lower()
    if name == "console":
        return ConsoleSpanExporter(service_name=environ.get("OTEL_SERVICE_NAME"))
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def start(enabled: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Called when a host starts: on when host.json turns distributed tracing V2 on and an exporter is
    configured. Returns whether spans are emitted."""
    global _on
    stop()
    env = os.environ if environ is None else environ
    exporter = (_test_exporter or exporter_from(env)) if enabled else None
    if exporter is not None:
        _on = _Exporting(exporter, env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME)
        log.info("devhost: distributed tracing (V2) spans exported")
    return _on is not None


def stop() -> None:
    """Flush what is queued (bounded wait) and switch off."""
    global _on
    on, _on = _on, None
    if on is not None:
        on.shutdown()


def active() -> bool:
    return _on is not None


def now_ns() -> int:
    return time.time_ns()


# ---------------------------------------------------------------- the HTTP request
def http_request(ctx: TraceContext, method: str, route: str, status: int, started_ns: int) -> None:
    """The host's server span of one HTTP function request; its id is the function's trace context."""
    if _on is None:
        return
    attributes = {"http.request.method": method, "http.route": route, "http.response.status_code": status}
    _on.emit(f"{method} {route}", SpanKind.SERVER, ctx, ctx.parent_id, started_ns, None, attributes,
             error="" if status >= 500 else None)


# ---------------------------------------------------------------- the client's start
def orchestration_created(ctx: TraceContext, name: str, instance_id: str, record: InstanceRecord | None,
                          started_ns: int) -> None:
    """DTFx StartActivityForNewOrchestration: `create_orchestration:{name}` (producer), child of the caller;
    its id is the ExecutionStarted's ParentTraceContext.TraceParent."""
    if _on is None:
        return
    attributes = {TYPE: "orchestration", TASK_NAME: name, INSTANCE_ID: instance_id}
    version = record.version if record is not None else None
    if record is not None:
        attributes[EXECUTION_ID] = record.execution_id
    if version:
        attributes[VERSION] = version
    _on.emit(span_name("create_orchestration", name, version), SpanKind.PRODUCER, ctx, ctx.parent_id,
             started_ns, None, attributes)


# ---------------------------------------------------------------- the orchestration
def stamp_orchestration(started: MutableMapping[str, Any], now: dt.datetime) -> None:
    """DTFx StartTraceActivityForOrchestrationExecution, first episode: the orchestration span's id and start
    go into the ExecutionStarted's ParentTraceContext (Id, SpanId, ActivityStartTime), stored with it, so
    every later episode, on any host, names the same span. Only when spans are emitted, as in DTFx (no
    listener, no Activity)."""
    if _on is None:
        return
    parent = started.get("ParentTraceContext")
    ctx = from_dtfx(parent)
    if ctx is None or not isinstance(parent, MutableMapping) or parent.get("SpanId"):
        return
    span = ctx.child()
    parent["Id"] = span.traceparent
    parent["SpanId"] = span.span_id
    parent["ActivityStartTime"] = h.format_ts(now)


def _orchestration_span(started: Mapping[str, Any]) -> tuple[TraceContext, str, dt.datetime | None] | None:
    """(the orchestration span's context, its parent span id, its start) from the ExecutionStarted."""
    parent = started.get("ParentTraceContext")
    ctx = from_dtfx(parent)
    if ctx is None or not isinstance(parent, Mapping):
        return None
    span_id = parent.get("SpanId")
    if not (isinstance(span_id, str) and parse_traceparent(f"00-{ctx.trace_id}-{span_id}-00")):
        # Started before spans were on: an id derived from the execution, the same on every episode.
        oi = started.get("OrchestrationInstance") or {}
        seed = f"{oi.get('InstanceId')}/{oi.get('ExecutionId')}".encode()
        span_id = hashlib.sha256(seed).hexdigest()[:16]
    begun = parent.get("ActivityStartTime")
    start = _when(begun) or _when(started.get("Timestamp"))
    return TraceContext(ctx.trace_id, span_id, ctx.flags, ctx.state), ctx.span_id, start


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return h.parse_ts(value)
    except ValueError:
        return None


_ASKING = (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated)
_CHILD_DONE = (EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed)
_FINAL = {int(RuntimeStatus.Completed): "Completed", int(RuntimeStatus.Failed): "Failed",
          int(RuntimeStatus.Terminated): "Terminated"}
_ENDING = (EventType.TaskCompleted, EventType.TaskFailed, *_CHILD_DONE, EventType.ExecutionCompleted)


def episode_stored(instance_id: str, history: Sequence[Mapping[str, Any]],
                   new: Iterable[tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
    """After an episode was stored: the spans its NEW events end (`history`: what was replayed, `new`: the
    commit's (execution id, events)). A TaskCompleted/TaskFailed ends its activity's client span, a
    sub-orchestration's completion its client span, an ExecutionCompleted the orchestration span.
    Continue-as-new carries the ParentTraceContext (DTFx ExecutionStartedEvent.SetParentTraceContext), so
    the orchestration span, one id for all generations, ends when the last one does."""
    if _on is None:
        return
    for i, (_execution, events) in enumerate(new):
        if not any(e.get("EventType") in _ENDING for e in events):
            continue  # nothing ends here (most episodes of a long history): no scan of the history
        # The first pair continues the replayed execution; a later one is a new generation (continue-as-new).
        earlier: list[Mapping[str, Any]] = [*history, *events] if i == 0 else list(events)
        started = next((e for e in earlier if e.get("EventType") == EventType.ExecutionStarted), None)
        orchestration = _orchestration_span(started) if started is not None else None
        if started is None or orchestration is None:
            continue
        octx, oparent, ostart = orchestration
        # What each result answers, by (event type, EventId): one pass however many results arrived.
        asked = {(e.get("EventType"), e.get("EventId")): e for e in earlier if e.get("EventType") in _ASKING}
        episode_time = _when(events[0].get("Timestamp"))
        for ev in events:
            et = ev.get("EventType")
            if et in (EventType.TaskCompleted, EventType.TaskFailed):
                _task_done(instance_id, octx, asked.get((EventType.TaskScheduled, ev.get("TaskScheduledId"))),
                           ev, episode_time)
            elif et in _CHILD_DONE:
                created = asked.get((EventType.SubOrchestrationInstanceCreated, ev.get("TaskScheduledId")))
                _child_done(instance_id, octx, created, ev, episode_time)
            elif et == EventType.ExecutionCompleted and ev.get("OrchestrationStatus") in _FINAL:
                status = _FINAL[int(ev["OrchestrationStatus"])]
                attributes = {TYPE: "orchestration", TASK_NAME: str(started.get("Name")),
                              INSTANCE_ID: instance_id, STATUS: status}
                if started.get("Version"):
                    attributes[VERSION] = str(started["Version"])
                error = str(ev.get("Result") or "")[:200] if status == "Failed" else None
                _on.emit(span_name("orchestration", str(started.get("Name")), started.get("Version")),
                         SpanKind.SERVER, octx, oparent, ostart or _when(ev.get("Timestamp")) or now_ns(),
                         _when(ev.get("Timestamp")), attributes, error=error)


def _task_done(instance_id: str, octx: TraceContext, scheduled: Mapping[str, Any] | None,
               done: Mapping[str, Any], end: dt.datetime | None) -> None:
    """DTFx EmitTraceActivityForTaskCompleted/Failed: `activity:{name}` (client), from the TaskScheduled's
    time to now, with the span id the TaskScheduled's ParentTraceContext names."""
    assert _on is not None
    ctx = from_dtfx(scheduled.get("ParentTraceContext")) if scheduled else None
    if scheduled is None or ctx is None:
        return
    name = str(scheduled.get("Name"))
    attributes = {TYPE: "activity", TASK_NAME: name, INSTANCE_ID: instance_id,
                  TASK_ID: scheduled.get("EventId")}
    error = None
    if done.get("EventType") == EventType.TaskFailed:
        error = str(done.get("Reason") or "Unspecified task activity failure")[:200]
    _on.emit(span_name("activity", name, scheduled.get("Version")), SpanKind.CLIENT, ctx, octx.span_id,
             _when(scheduled.get("Timestamp")) or now_ns(), end, attributes, error=error)


def _child_done(instance_id: str, octx: TraceContext, created: Mapping[str, Any] | None,
                done: Mapping[str, Any], end: dt.datetime | None) -> None:
    """DTFx EmitTraceActivityForSubOrchestrationCompleted/Failed: `orchestration:{child}` (client) with the
    SubOrchestrationInstanceCreated's ClientSpanId."""
    assert _on is not None
    client = created.get("ClientSpanId") if created else None
    if created is None or not isinstance(client, str) or not client:
        return
    name = str(created.get("Name"))
    attributes = {TYPE: "orchestration", TASK_NAME: name, INSTANCE_ID: instance_id}
    error = None
    if done.get("EventType") == EventType.SubOrchestrationInstanceFailed:
        error = str(done.get("Reason") or "Unspecified sub-orchestration failure")[:200]
    ctx = TraceContext(octx.trace_id, client, octx.flags, octx.state)
    _on.emit(span_name("orchestration", name, created.get("Version")), SpanKind.CLIENT, ctx, octx.span_id,
             _when(created.get("Timestamp")) or now_ns(), end, attributes, error=error)


# ---------------------------------------------------------------- the activity invocation
def activity_ran(scheduled: Mapping[str, Any], instance_id: str, ctx: TraceContext | None, started_ns: int,
                 error: str | None) -> None:
    """DTFx StartTraceActivityForTaskExecution: `activity:{name}` (server), child of the TaskScheduled's
    ParentTraceContext; its id is the invocation's trace context."""
    if _on is None or ctx is None or not ctx.parent_id:
        return
    name = str(scheduled.get("Name"))
    attributes = {TYPE: "activity", TASK_NAME: name, INSTANCE_ID: instance_id,
                  TASK_ID: scheduled.get("EventId")}
    if scheduled.get("Version"):
        attributes[VERSION] = str(scheduled["Version"])
    _on.emit(span_name("activity", name, scheduled.get("Version")), SpanKind.SERVER, ctx, ctx.parent_id,
             started_ns, None, attributes, error=error)
