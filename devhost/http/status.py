"""The management API's status object (EXT `StatusResponsePayload`) and its `historyEvents` view.

Mirrors `DurableClient.GetDurableOrchestrationStatusAsync`: event types become names, bookkeeping events
disappear, scheduling events are folded into their completions (PROTOCOL.md §5.3).
"""

from __future__ import annotations

import json
from typing import Any

from devhost.history import EventType, HistoryEvent, RuntimeStatus, status_time
from devhost.store.base import InstanceRecord


def parse_to_token(value: str | None) -> Any:
    """EXT `ParseToJToken`: stored text parsed as JSON when it is JSON, else the raw (trimmed) string."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(
    record: InstanceRecord, *, show_input: bool = True, history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": RuntimeStatus(record.runtime_status).name,
        "input": parse_to_token(record.input) if show_input else None,
        "customStatus": parse_to_token(record.custom_status),
        "output": parse_to_token(record.output),
        "createdTime": status_time(record.created_time),
        "lastUpdatedTime": status_time(record.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = history
    return payload


def _status_name(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return RuntimeStatus(value).name
        except ValueError:
            return value
    return value


def history_events(events: list[HistoryEvent], show_history_output: bool) -> list[dict[str, Any]]:
    """The `historyEvents` array: a transformed copy of the execution's history."""
    items = [dict(e) for e in events]
    scheduled: dict[str, tuple[int, str | None, str]] = {}
    drop: set[int] = set()
    for i, item in enumerate(items):
        try:
            etype = EventType(int(item["EventType"]))
        except (KeyError, ValueError):
            continue
        item["EventType"] = etype.name
        if etype in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            key = f"{etype.name}_{item.get('EventId')}"
            scheduled[key] = (i, item.get("Name"), item.get("Timestamp", ""))
            item.pop("Version", None)
            item.pop("Input", None)
        elif etype in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            prefix = (
                "TaskScheduled"
                if etype in (EventType.TaskCompleted, EventType.TaskFailed)
                else "SubOrchestrationInstanceCreated"
            )
            match = scheduled.get(f"{prefix}_{item.get('TaskScheduledId')}")
            if match is not None:
                item["ScheduledTime"] = match[2]
                item["FunctionName"] = match[1]
                drop.add(match[0])
            item.pop("TaskScheduledId", None)
            completed = etype in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted)
            if completed and not show_history_output:
                item.pop("Result", None)
            if completed and show_history_output:
                item["Result"] = parse_to_token(item.get("Result"))
        elif etype is EventType.ExecutionStarted:
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags", "Input"):
                item.pop(key, None)
        elif etype is EventType.ExecutionCompleted:
            item["OrchestrationStatus"] = _status_name(item.get("OrchestrationStatus"))
            if show_history_output:
                item["Result"] = parse_to_token(item.get("Result"))
            else:
                item.pop("Result", None)
        elif etype in (EventType.ExecutionTerminated, EventType.EventRaised):
            item.pop("Input", None)
        elif etype is EventType.TimerFired:
            item.pop("TimerId", None)
        elif etype in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            drop.add(i)
        item.pop("EventId", None)
        item.pop("IsPlayed", None)
    return [item for i, item in enumerate(items) if i not in drop]
