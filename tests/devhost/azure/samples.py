"""A sample event shared by the table-row and queue-message tests."""

from typing import Any

from devhost import history as h

PARENT = {"InstanceId": "pi", "ExecutionId": "pe"}


def child_started(ts: str, *, schedule_id: int = 0, **members: Any) -> h.HistoryEvent:
    """ExecutionStarted of sub-orchestration ``c`` (execution ``ce``), scheduled as task ``schedule_id`` by
    instance ``pi`` (execution ``pe``): the event with the most nested objects."""
    parent = {"Name": "p", "Version": "", "TaskScheduleId": schedule_id, "OrchestrationInstance": PARENT}
    return h.execution_started(
        ts, instance_id="c", execution_id="ce", name="child", input_json="null", parent=parent, **members
    )
