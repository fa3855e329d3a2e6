"""DTFx history events as plain dicts in the wire shape the Durable extension sends (PROTOCOL.md §2.2).

PascalCase keys, ``EventType`` as an int, timestamps as .NET ISO-8601 strings with ``Z``. The engine, the
stores and the status API all share these helpers so that every layer sees the same event dicts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from enum import IntEnum
from typing import Any

HistoryEvent = dict[str, Any]

UTC = dt.UTC


class EventType(IntEnum):
    """DurableTask.Core ``EventType`` values (ints on the wire, names in Azure tables)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


class RuntimeStatus(IntEnum):
    """DTFx ``OrchestrationStatus`` (int values as in JSON, names as in tables and the status API)."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


TERMINAL_STATUSES = frozenset(
    {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated, RuntimeStatus.Canceled}
)
RUNNING_STATUSES = frozenset(
    {RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.Suspended, RuntimeStatus.ContinuedAsNew}
)

# Event types DTFx persists with IsPlayed=true once an episode has processed them (PROTOCOL.md §2.2).
PLAYED_ON_PERSIST = frozenset({0, 3, 5, 6, 8, 9, 11, 14, 15})
SCHEDULING_TYPES = frozenset({4, 7, 10, 14})


# Set by devhost.engine.sdk_speedups: told every (string, datetime) pair format_ts produces.
TIMESTAMP_HOOK: Callable[[str, dt.datetime], None] | None = None


def format_ts(t: dt.datetime) -> str:
    """.NET/Newtonsoft round-trip format: fraction trimmed of trailing zeros (``FFFFFFF``), ``Z`` suffix."""
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    text = (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        + (f".{t.microsecond:06d}".rstrip("0") if t.microsecond else "")
        + "Z"
    )
    if TIMESTAMP_HOOK is not None:
        TIMESTAMP_HOOK(text, t)
    return text


def parse_ts(s: str) -> dt.datetime:
    """Parse an ISO-8601 UTC timestamp with up to 7 fractional digits (the 7th is truncated)."""
    try:
        v = dt.datetime.fromisoformat(s)
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    except ValueError:
        pass
    text = s.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1]
        tz: dt.tzinfo = UTC
    else:
        tz = UTC
        for sep in ("+", "-"):
            pos = text.rfind(sep)
            if pos > 10:
                off = text[pos:]
                text = text[:pos]
                sign = 1 if off[0] == "+" else -1
                hh, _, mm = off[1:].partition(":")
                tz = dt.timezone(sign * dt.timedelta(hours=int(hh), minutes=int(mm or 0)))
                break
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6].ljust(6, '0')}"
        value = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")
    else:
        value = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    return value.replace(tzinfo=tz).astimezone(UTC)


def status_time(t: dt.datetime | None) -> str | None:
    """Status API time format: ``ToString("s") + "Z"`` (seconds precision)."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact_json(value: Any) -> str:
    """Newtonsoft's default serialization: compact separators, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _event(etype: EventType, ts: str, event_id: int = -1, **fields: Any) -> HistoryEvent:
    e: HistoryEvent = dict(fields)
    e["EventType"] = int(etype)
    e["EventId"] = event_id
    e["IsPlayed"] = False
    e["Timestamp"] = ts
    return e


def orchestrator_started(ts: str) -> HistoryEvent:
    return _event(EventType.OrchestratorStarted, ts)


def orchestrator_completed(ts: str) -> HistoryEvent:
    return _event(EventType.OrchestratorCompleted, ts)


def execution_started(
    ts: str,
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    input_json: str | None,
    parent: dict[str, Any] | None = None,
    generation: int = 0,
    version: str = "",
    tags: dict[str, str] | None = None,
    scheduled_start_time: str | None = None,
    trace: dict[str, Any] | None = None,
) -> HistoryEvent:
    """``trace``: DTFx's ParentTraceContext (a DistributedTraceContext dict, PROTOCOL.md §35)."""
    return _event(
        EventType.ExecutionStarted,
        ts,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version=version,
        Input=input_json,
        Tags=tags,
        Correlation=None,
        ParentTraceContext=trace,
        ScheduledStartTime=scheduled_start_time,
        Generation=generation,
    )


def execution_completed(
    ts: str, event_id: int, status: RuntimeStatus, result: str | None, failure_details: Any = None
) -> HistoryEvent:
    return _event(
        EventType.ExecutionCompleted,
        ts,
        event_id,
        OrchestrationStatus=int(status),
        Result=result,
        FailureDetails=failure_details,
    )


def continue_as_new(ts: str, event_id: int, result: str | None) -> HistoryEvent:
    return _event(
        EventType.ContinueAsNew,
        ts,
        event_id,
        OrchestrationStatus=int(RuntimeStatus.ContinuedAsNew),
        Result=result,
        FailureDetails=None,
    )


def execution_terminated(ts: str, reason: str | None) -> HistoryEvent:
    return _event(EventType.ExecutionTerminated, ts, Input=reason)


def execution_suspended(ts: str, reason: str | None) -> HistoryEvent:
    return _event(EventType.ExecutionSuspended, ts, Reason=reason)


def execution_resumed(ts: str, reason: str | None) -> HistoryEvent:
    return _event(EventType.ExecutionResumed, ts, Reason=reason)


def task_scheduled(
    ts: str, event_id: int, name: str, input_text: str | None, trace: dict[str, Any] | None = None
) -> HistoryEvent:
    # DTFx stores the activity's parameters as a JSON array; the OOProc protocol passes one string parameter.
    arr = compact_json([input_text]) if input_text is not None else "[null]"
    return _event(
        EventType.TaskScheduled,
        ts,
        event_id,
        Name=name,
        Version="",
        Input=arr,
        ParentTraceContext=trace,
        Tags=None,
    )


def task_completed(ts: str, scheduled_id: int, result: str | None) -> HistoryEvent:
    return _event(EventType.TaskCompleted, ts, TaskScheduledId=scheduled_id, Result=result)


def task_failed(ts: str, scheduled_id: int, reason: str, details: str | None) -> HistoryEvent:
    return _event(
        EventType.TaskFailed,
        ts,
        TaskScheduledId=scheduled_id,
        Reason=reason,
        Details=details,
        FailureDetails=None,
    )


def timer_created(ts: str, event_id: int, fire_at: str) -> HistoryEvent:
    return _event(EventType.TimerCreated, ts, event_id, FireAt=fire_at)


def timer_fired(ts: str, timer_id: int, fire_at: str) -> HistoryEvent:
    return _event(EventType.TimerFired, ts, TimerId=timer_id, FireAt=fire_at)


def sub_orchestration_created(
    ts: str, event_id: int, name: str, instance_id: str, input_json: str | None,
    client_span_id: str | None = None, version: str = "",
) -> HistoryEvent:
    return _event(
        EventType.SubOrchestrationInstanceCreated,
        ts,
        event_id,
        Name=name,
        Version=version,
        InstanceId=instance_id,
        Input=input_json,
        ClientSpanId=client_span_id,
        Tags=None,
    )


def sub_orchestration_completed(ts: str, scheduled_id: int, result: str | None) -> HistoryEvent:
    return _event(
        EventType.SubOrchestrationInstanceCompleted, ts, TaskScheduledId=scheduled_id, Result=result
    )


def sub_orchestration_failed(
    ts: str, scheduled_id: int, reason: str | None, details: str | None
) -> HistoryEvent:
    return _event(
        EventType.SubOrchestrationInstanceFailed,
        ts,
        TaskScheduledId=scheduled_id,
        Reason=reason,
        Details=details,
        FailureDetails=None,
    )


def event_raised(ts: str, name: str, input_json: str | None) -> HistoryEvent:
    return _event(EventType.EventRaised, ts, Name=name, Input=input_json, ParentTraceContext=None)


def as_persisted(e: HistoryEvent) -> HistoryEvent:
    """Copy of ``e`` as DTFx stores it after the episode that processed it (IsPlayed rule of PROTOCOL.md
    §2.2)."""
    if e["EventType"] in PLAYED_ON_PERSIST and not e["IsPlayed"]:
        e = dict(e)
        e["IsPlayed"] = True
    return e
