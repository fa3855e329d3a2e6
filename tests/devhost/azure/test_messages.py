"""Queue messages use DurableTask.AzureStorage's MessageData/TaskMessage JSON with Newtonsoft $type names."""

import datetime as dt
import json
import uuid

from devhost import history as h
from devhost.history import EventType
from devhost.store.azure import messages
from devhost.store.base import ActivityMessage, OrchestrationMessage
from tests.devhost.azure.samples import child_started

TS = "2023-04-05T03:31:23.6268922Z"


def test_activity_message_shape_matches_the_reference_example() -> None:
    event = h.task_scheduled(TS, 2, "TestFunction_Activity", '"London"')
    msg = ActivityMessage("f71ac761", "f6ac7180", event, message_id=uuid.uuid4().hex)
    data = messages.encode(msg, 5)
    text = messages.dumps(data)
    assert text.startswith('{"$type":"DurableTask.AzureStorage.MessageData","ActivityId":"')
    assert data["ActivityId"] == str(uuid.UUID(msg.message_id))
    task = data["TaskMessage"]
    assert list(task)[0] == "$type" and task["$type"] == "DurableTask.Core.TaskMessage"
    assert task["Event"]["$type"] == "DurableTask.Core.History.TaskScheduledEvent"
    assert task["Event"]["EventType"] == 4 and task["Event"]["EventId"] == 2  # the int, as on the wire
    assert task["Event"]["Input"] == '["\\"London\\""]'
    assert task["OrchestrationInstance"] == {
        "$type": "DurableTask.Core.OrchestrationInstance",
        "InstanceId": "f71ac761",
        "ExecutionId": "f6ac7180",
    }
    assert data["SequenceNumber"] == 5 and data["CompressedBlobName"] is None
    back = messages.decode(json.loads(text), activity=True)
    assert back.message == msg and back.sequence_number == 5


def test_nested_objects_get_type_names_and_decode_strips_them() -> None:
    event = child_started(TS)
    msg = OrchestrationMessage("c", event, execution_id="ce")
    data = messages.encode(msg, 1)
    ev = data["TaskMessage"]["Event"]
    assert ev["$type"] == "DurableTask.Core.History.ExecutionStartedEvent"
    assert ev["ParentInstance"]["$type"] == "DurableTask.Core.ParentInstance"
    assert ev["ParentInstance"]["OrchestrationInstance"]["$type"] == "DurableTask.Core.OrchestrationInstance"
    assert messages.decode(json.loads(messages.dumps(data)), activity=False).message == msg


def test_event_class_names() -> None:
    assert messages.event_class_name(EventType.GenericEvent) == "DurableTask.Core.History.GenericEvent"
    assert messages.event_class_name(EventType.TimerFired) == "DurableTask.Core.History.TimerFiredEvent"
    assert messages.event_class_name(EventType.EventRaised) == "DurableTask.Core.History.EventRaisedEvent"


def test_delayed_message_keeps_its_visibility_time() -> None:
    fire = dt.datetime(2024, 1, 1, 0, 0, 5, tzinfo=dt.UTC)
    msg = OrchestrationMessage(
        "i", h.timer_fired(TS, 0, h.format_ts(fire)), execution_id="e", visible_at=fire
    )
    back = messages.decode(json.loads(messages.dumps(messages.encode(msg, 1))), activity=False)
    assert back.message == msg


def test_non_guid_message_ids_survive() -> None:
    msg = OrchestrationMessage("i", h.event_raised(TS, "go", "1"), message_id="client-42")
    data = messages.encode(msg, 1)
    uuid.UUID(data["ActivityId"])  # still a valid .NET Guid
    assert messages.decode(data, activity=False).message.message_id == "client-42"


def test_large_message_wrapper_and_blob_name() -> None:
    msg = OrchestrationMessage("inst1", h.task_completed(TS, 0, '"x"'), message_id=uuid.uuid4().hex)
    name = messages.large_message_blob_name(msg)
    assert name == f"inst1/message-{msg.message_id}-TaskCompleted.json.gz"
    wrapper = messages.wrapper(name)
    assert wrapper["TaskMessage"] is None and wrapper["CompressedBlobName"] == name
