"""History events <-> table entities, as DurableTask.AzureStorage's TableEntityConverter writes them
(PROTOCOL.md §6).

Event dicts are devhost.history's wire shape (EventType as int, Timestamp as ISO text); table rows carry
EventType / OrchestrationStatus as names, ``_Timestamp`` instead of ``Timestamp``, DateTimes natively and
complex members as JSON text. Large payload columns are handled by the caller (payloads.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from devhost.history import EventType, HistoryEvent, RuntimeStatus, format_ts, parse_ts
from devhost.store.base import InstanceRecord

# DateTime-typed DataMembers of the DTFx history classes.
DATETIME_FIELDS = frozenset({"Timestamp", "FireAt", "ScheduledStartTime"})
# Members whose .NET types are not table primitives: TableEntityConverter stores them as JSON text
# (Newtonsoft writes a null member as the text "null").
COMPLEX_FIELDS = frozenset(
    {"OrchestrationInstance", "ParentInstance", "Tags", "FailureDetails", "ParentTraceContext"}
)
ENUM_FIELDS = {"OrchestrationStatus": RuntimeStatus}
INT_FIELDS = frozenset({"EventId", "TaskScheduledId", "TimerId", "Generation"})
RESERVED = frozenset({"PartitionKey", "RowKey", "Timestamp", "etag", "ExecutionId"})

# The DataMembers each event type carries in devhost.history (so a round trip restores the null ones
# that the table does not store).
EVENT_FIELDS: dict[int, tuple[str, ...]] = {
    EventType.ExecutionStarted: (
        "OrchestrationInstance", "ParentInstance", "Name", "Version", "Input", "Tags", "Correlation",
        "ParentTraceContext", "ScheduledStartTime", "Generation",
    ),
    EventType.ExecutionCompleted: ("OrchestrationStatus", "Result", "FailureDetails"),
    EventType.ContinueAsNew: ("OrchestrationStatus", "Result", "FailureDetails"),
    EventType.ExecutionTerminated: ("Input",),
    EventType.ExecutionSuspended: ("Reason",),
    EventType.ExecutionResumed: ("Reason",),
    EventType.TaskScheduled: ("Name", "Version", "Input", "ParentTraceContext", "Tags"),
    EventType.TaskCompleted: ("TaskScheduledId", "Result"),
    EventType.TaskFailed: ("TaskScheduledId", "Reason", "Details", "FailureDetails"),
    EventType.SubOrchestrationInstanceCreated: (
        "Name", "Version", "InstanceId", "Input", "ClientSpanId", "Tags",
    ),
    EventType.SubOrchestrationInstanceCompleted: ("TaskScheduledId", "Result"),
    EventType.SubOrchestrationInstanceFailed: ("TaskScheduledId", "Reason", "Details", "FailureDetails"),
    EventType.TimerCreated: ("FireAt",),
    EventType.TimerFired: ("TimerId", "FireAt"),
    EventType.EventRaised: ("Name", "Input", "ParentTraceContext"),
    EventType.EventSent: ("InstanceId", "Name", "Input"),
    EventType.GenericEvent: ("Data",),
    EventType.HistoryState: ("State",),
}  # fmt: skip


def to_table_datetime(text: str) -> dt.datetime:
    return parse_ts(text)


def from_table_datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return format_ts(value)
    return str(value)


def event_to_entity(
    event: HistoryEvent, partition_key: str, row_key: str, execution_id: str
) -> dict[str, Any]:
    """One History-table row for `event` (sequence `row_key`) of execution `execution_id`."""
    entity: dict[str, Any] = {"PartitionKey": partition_key, "RowKey": row_key, "ExecutionId": execution_id}
    for key, value in event.items():
        column = "_Timestamp" if key == "Timestamp" else key
        if key == "EventType":
            entity[column] = EventType(value).name
        elif key in ENUM_FIELDS:
            entity[column] = None if value is None else ENUM_FIELDS[key](value).name
        elif key in COMPLEX_FIELDS or isinstance(value, dict | list):
            entity[column] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        elif value is None:
            continue  # the table stores no null primitives
        elif key in DATETIME_FIELDS and isinstance(value, str):
            entity[column] = to_table_datetime(value)
        else:
            entity[column] = value
    return {k: v for k, v in entity.items() if v is not None}


def entity_to_event(entity: dict[str, Any]) -> HistoryEvent:
    """The history event dict stored in a History-table row (large columns already inlined)."""
    etype = EventType[entity["EventType"]]
    event: HistoryEvent = {name: None for name in EVENT_FIELDS.get(etype, ())}
    for column, value in entity.items():
        if column in RESERVED:
            continue
        key = "Timestamp" if column == "_Timestamp" else column
        if key == "EventType":
            event[key] = int(etype)
        elif key in ENUM_FIELDS:
            event[key] = int(ENUM_FIELDS[key][value]) if isinstance(value, str) else value
        elif key in COMPLEX_FIELDS:
            event[key] = json.loads(value) if isinstance(value, str) else value
        elif key in DATETIME_FIELDS:
            event[key] = from_table_datetime(value)
        elif key in INT_FIELDS:
            event[key] = int(value)
        else:
            event[key] = value
    return event


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        # A plain datetime (not the SDK's TablesEntityDatetime subclass), always UTC.
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=dt.UTC,
        )
    return parse_ts(str(value))


def instance_to_entity(record: InstanceRecord, partition_key: str, hub: str) -> dict[str, Any]:
    """The Instances-table row (OrchestrationInstanceStatus columns, PROTOCOL.md §6) of an instance record.

    ``ParentInstanceId`` is devhost's own column (DTFx readers ignore unknown columns)."""
    entity: dict[str, Any] = {
        "PartitionKey": partition_key,
        "RowKey": "",
        "Name": record.name,
        "Version": record.version,
        "Input": record.input,
        "Output": record.output,
        # DTFx writes the text "null" when there is no custom status (durabletask#477).
        "CustomStatus": record.custom_status if record.custom_status is not None else "null",
        "CreatedTime": record.created_time,
        "LastUpdatedTime": record.last_updated_time,
        "CompletedTime": record.completed_time,
        "RuntimeStatus": record.runtime_status.name,
        "ExecutionId": record.execution_id,
        "Generation": record.generation,
        "Tags": json.dumps(record.tags, separators=(",", ":")) if record.tags is not None else None,
        "ScheduledStartTime": record.scheduled_start_time,
        "TaskHubName": hub,
        "ParentInstanceId": record.parent_instance_id,
    }
    return {k: v for k, v in entity.items() if v is not None}


def entity_to_instance(entity: dict[str, Any], instance_id: str) -> InstanceRecord:
    """The instance record in an Instances-table row (large Input/Output already inlined)."""
    custom = entity.get("CustomStatus")
    tags = entity.get("Tags")
    created = _utc(entity.get("CreatedTime")) or dt.datetime.min.replace(tzinfo=dt.UTC)
    return InstanceRecord(
        instance_id=instance_id,
        name=entity.get("Name") or "",
        execution_id=entity.get("ExecutionId") or "",
        runtime_status=RuntimeStatus[entity.get("RuntimeStatus") or "Pending"],
        created_time=created,
        last_updated_time=_utc(entity.get("LastUpdatedTime")) or created,
        input=entity.get("Input"),
        output=entity.get("Output"),
        custom_status=None if custom in (None, "null") else custom,
        completed_time=_utc(entity.get("CompletedTime")),
        version=entity.get("Version") or "",
        generation=int(entity.get("Generation") or 0),
        parent_instance_id=entity.get("ParentInstanceId"),
        tags=json.loads(tags) if isinstance(tags, str) and tags not in ("", "null") else None,
        scheduled_start_time=_utc(entity.get("ScheduledStartTime")),
    )
