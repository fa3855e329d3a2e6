"""History events and instance records map to table rows with DTFx's column layout, and back unchanged."""

import datetime as dt

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.azure import entities
from devhost.store.base import InstanceRecord
from tests.devhost.azure.samples import child_started

TS = "2024-04-05T03:31:23.626892Z"


def _round_trip(event: h.HistoryEvent) -> h.HistoryEvent:
    row = entities.event_to_entity(event, "pk", "0000000000000002", "exec1")
    return entities.entity_to_event(row)


def test_task_scheduled_row_has_dtfx_columns() -> None:
    event = h.task_scheduled(TS, 0, "say_hello", '"Tokyo"')
    row = entities.event_to_entity(event, "inst", "0000000000000002", "exec1")
    assert row["PartitionKey"] == "inst"
    assert row["RowKey"] == "0000000000000002"
    assert row["ExecutionId"] == "exec1"
    assert row["EventType"] == "TaskScheduled"
    assert row["EventId"] == 0
    assert row["IsPlayed"] is False
    assert row["_Timestamp"] == dt.datetime(2024, 4, 5, 3, 31, 23, 626892, tzinfo=dt.UTC)
    assert "Timestamp" not in row
    assert row["Name"] == "say_hello"
    assert row["Input"] == '["\\"Tokyo\\""]'
    # Complex members are JSON text, even when null (Newtonsoft writes "null").
    assert row["ParentTraceContext"] == "null"
    assert row["Tags"] == "null"
    assert _round_trip(event) == event


def test_execution_started_complex_members_are_json_and_come_back() -> None:
    event = child_started(TS, schedule_id=3, generation=2, tags={"k": "v"})
    row = entities.event_to_entity(event, "c", "0000000000000001", "ce")
    assert row["OrchestrationInstance"] == '{"InstanceId":"c","ExecutionId":"ce"}'
    assert row["ParentInstance"].startswith('{"Name":"p"')
    assert row["Generation"] == 2
    assert row["Tags"] == '{"k":"v"}'
    assert "ScheduledStartTime" not in row  # null primitives are not stored
    assert _round_trip(event) == event


def test_enums_are_names_in_tables_and_ints_on_the_wire() -> None:
    event = h.execution_completed(TS, 3, RuntimeStatus.Completed, '["a"]')
    row = entities.event_to_entity(event, "i", "000000000000000E", "e")
    assert row["EventType"] == "ExecutionCompleted"
    assert row["OrchestrationStatus"] == "Completed"
    back = _round_trip(event)
    assert back["OrchestrationStatus"] == 1 and back["EventType"] == 1
    assert back == event


def test_every_event_kind_round_trips() -> None:
    events = [
        h.orchestrator_started(TS),
        h.orchestrator_completed(TS),
        h.task_completed(TS, 1, '"r"'),
        h.task_failed(TS, 2, "why", "details"),
        h.timer_created(TS, 4, "2024-04-05T03:32:00Z"),
        h.timer_fired(TS, 4, "2024-04-05T03:32:00Z"),
        h.sub_orchestration_created(TS, 5, "child", "cid", '"in"'),
        h.sub_orchestration_completed(TS, 5, '"out"'),
        h.sub_orchestration_failed(TS, 6, "r", "d"),
        h.event_raised(TS, "Approval", '{"ok":true}'),
        h.execution_terminated(TS, "stop"),
        h.execution_suspended(TS, "pause"),
        h.execution_resumed(TS, None),
        h.continue_as_new(TS, 7, '"next"'),
    ]
    for event in events:
        assert _round_trip(event) == event, event


def test_timer_fire_at_is_a_datetime_column() -> None:
    row = entities.event_to_entity(h.timer_created(TS, 0, "2024-04-05T03:32:00.5Z"), "i", "0", "e")
    assert row["FireAt"] == dt.datetime(2024, 4, 5, 3, 32, 0, 500000, tzinfo=dt.UTC)


def test_instance_row_columns() -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rec = InstanceRecord("a/b", "orch", "e1", RuntimeStatus.Running, t0, t0, input='"x"', generation=1)
    row = entities.instance_to_entity(rec, "a^0b", "Hub")
    assert row["PartitionKey"] == "a^0b" and row["RowKey"] == ""
    assert row["RuntimeStatus"] == "Running"
    assert row["CustomStatus"] == "null"  # DTFx's placeholder for "no custom status"
    assert row["TaskHubName"] == "Hub"
    assert row["CreatedTime"] == t0 and row["LastUpdatedTime"] == t0
    assert "Output" not in row and "CompletedTime" not in row
    assert entities.entity_to_instance(row, "a/b") == rec
