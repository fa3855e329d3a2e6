"""The waterfall of one instance: its activities, sub-orchestrations, timers and events as spans in time.

Built from the persisted history alone (what the store gives back), so it shows a finished instance and a
running one alike. A retry is the same function scheduled again: each scheduling is its own span with its
attempt number, and the backoff timers between them are spans of their own, so the gaps are visible.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from devhost.history import EventType, HistoryEvent


@dataclass
class Span:
    """One bar (or, when `end` equals `start` and kind is "event", one mark) of the waterfall."""

    kind: str  # "activity", "suborchestration", "timer" or "event"
    name: str
    start: str  # ISO 8601 UTC, as stored
    end: str | None  # None while it runs (or a timer that has not fired)
    outcome: str  # "completed", "failed", "running" or "fired"
    attempt: int = 1  # the n-th scheduling of this name in this execution
    detail: str = ""  # failure reason, the timer's FireAt, a sub-orchestration's instance id
    instance_id: str | None = None  # sub-orchestrations: the child to link to

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_SUB_DONE = (EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed)


def _type(event: HistoryEvent) -> EventType | None:
    try:
        return EventType(int(event.get("EventType", -1)))
    except (TypeError, ValueError):
        return None


def _failure(event: HistoryEvent) -> str:
    """The failure's one-line reason: DTFx keeps it in Reason, and details in FailureDetails/Details."""
    details = event.get("FailureDetails")
    if isinstance(details, dict):
        message = details.get("ErrorMessage") or details.get("ErrorType")
        if message:
            return str(message)
    reason = event.get("Reason")
    if reason:
        return str(reason)
    raw = event.get("Details")
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw[:500]
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
        return raw[:500]
    return "failed"


def build(history: list[HistoryEvent]) -> list[Span]:
    """Spans in scheduling order. Events raised into the instance are zero-length marks."""
    spans: list[Span] = []
    open_tasks: dict[int, Span] = {}
    open_subs: dict[int, Span] = {}
    open_timers: dict[int, Span] = {}
    attempts: dict[tuple[str, str], int] = {}

    def schedule(kind: str, name: str, event: HistoryEvent) -> Span:
        key = (kind, name)
        attempts[key] = attempts.get(key, 0) + 1
        span = Span(kind, name, str(event.get("Timestamp", "")), None, "running", attempts[key])
        spans.append(span)
        return span

    for event in history:
        etype = _type(event)
        event_id = event.get("EventId")
        scheduled_id = event.get("TaskScheduledId")
        if etype is EventType.TaskScheduled and isinstance(event_id, int):
            open_tasks[event_id] = schedule("activity", str(event.get("Name", "")), event)
        elif etype is EventType.SubOrchestrationInstanceCreated and isinstance(event_id, int):
            span = schedule("suborchestration", str(event.get("Name", "")), event)
            span.instance_id = str(event.get("InstanceId") or "") or None
            span.detail = span.instance_id or ""
            open_subs[event_id] = span
        elif etype is EventType.TimerCreated and isinstance(event_id, int):
            span = schedule("timer", "timer", event)
            span.detail = f"fires at {event.get('FireAt', '?')}"
            open_timers[event_id] = span
        elif etype in (EventType.TaskCompleted, EventType.TaskFailed) and isinstance(scheduled_id, int):
            done = open_tasks.pop(scheduled_id, None)
            if done is not None:
                _close(done, event, failed=etype is EventType.TaskFailed)
        elif etype in _SUB_DONE and isinstance(scheduled_id, int):
            done = open_subs.pop(scheduled_id, None)
            if done is not None:
                _close(done, event, failed=etype is EventType.SubOrchestrationInstanceFailed)
        elif etype is EventType.TimerFired:
            timer = open_timers.pop(int(event.get("TimerId", -1)), None)
            if timer is not None:
                timer.end = str(event.get("Timestamp", ""))
                timer.outcome = "fired"
        elif etype is EventType.EventRaised:
            stamp = str(event.get("Timestamp", ""))
            spans.append(Span("event", str(event.get("Name", "")), stamp, stamp, "completed",
                              detail="raised into the instance"))
    return spans


def _close(span: Span, event: HistoryEvent, *, failed: bool) -> None:
    span.end = str(event.get("Timestamp", ""))
    span.outcome = "failed" if failed else "completed"
    if failed:
        span.detail = _failure(event)

