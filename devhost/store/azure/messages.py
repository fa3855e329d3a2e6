"""Queue messages in DurableTask.AzureStorage's JSON shape (PROTOCOL.md §6): a MessageData envelope holding a
TaskMessage with the history event, Newtonsoft ``$type`` names first in every object.

A real Functions host reading the same queues can deserialize these; devhost adds two members DTFx ignores
(``DevhostMessageId`` when the message id is not a GUID, ``DevhostVisibleAt`` for delayed delivery).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from devhost.history import EventType, HistoryEvent, format_ts, parse_ts
from devhost.store.azure.payloads import LargePayloads
from devhost.store.base import ActivityMessage, OrchestrationMessage

MESSAGE_DATA_TYPE = "DurableTask.AzureStorage.MessageData"
TASK_MESSAGE_TYPE = "DurableTask.Core.TaskMessage"
INSTANCE_TYPE = "DurableTask.Core.OrchestrationInstance"
_NESTED_TYPES = {
    "OrchestrationInstance": INSTANCE_TYPE,
    "ParentInstance": "DurableTask.Core.ParentInstance",
    "FailureDetails": "DurableTask.Core.FailureDetails",
    "ParentTraceContext": "DurableTask.Core.Tracing.DistributedTraceContext",
}
_STRING = (
    "System.String, System.Private.CoreLib, Version=8.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e"
)
_TAGS_TYPE = f"System.Collections.Generic.Dictionary`2[[{_STRING}],[{_STRING}]]"
# Queue messages above this many UTF-8 bytes go to a gzip blob (DTFx MessageManager: 45 KB, base64 headroom).
MAX_QUEUE_PAYLOAD_BYTES = 45 * 1024
_NAMESPACE = uuid.UUID("6f1c2d0e-4b7a-4c55-9a51-2b0e7d3c9a10")
# Decoding failures that mean "this message is not ours / is corrupt" (dropped), as opposed to storage errors
# while fetching a large message's blob (the message is left to come back). A missing blob is corrupt too.
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, ResourceNotFoundError)


def event_class_name(event_type: int) -> str:
    """.NET class of a history event: GenericEvent keeps its name, the others end in ``Event``."""
    name = EventType(event_type).name
    return f"DurableTask.Core.History.{name if name.endswith('Event') else name + 'Event'}"


def activity_guid(message_id: str) -> tuple[str, bool]:
    """The message id as a .NET Guid string; False when it had to be derived (id is not a GUID)."""
    try:
        return str(uuid.UUID(hex=message_id)), True
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, message_id)), False


def _typed(value: Any, type_name: str | None) -> Any:
    if not isinstance(value, dict) or type_name is None:
        return value
    out: dict[str, Any] = {"$type": type_name}
    for k, v in value.items():
        if k != "$type":
            out[k] = _typed(v, _NESTED_TYPES.get(k))
    return out


def typed_event(event: HistoryEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"$type": event_class_name(event["EventType"])}
    for key, value in event.items():
        out[key] = _typed(value, _TAGS_TYPE if key == "Tags" else _NESTED_TYPES.get(key))
    return out


def untyped(value: Any) -> Any:
    """Strip Newtonsoft ``$type`` members recursively."""
    if isinstance(value, dict):
        return {k: untyped(v) for k, v in value.items() if k != "$type"}
    if isinstance(value, list):
        return [untyped(v) for v in value]
    return value


@dataclass(frozen=True)
class Envelope:
    """A decoded queue message: the devhost message and the DTFx envelope's sequence number."""

    message: OrchestrationMessage | ActivityMessage
    sequence_number: int


def encode(message: OrchestrationMessage | ActivityMessage, sequence_number: int) -> dict[str, Any]:
    """The MessageData JSON object for a control-queue or work-item message."""
    guid, exact = activity_guid(message.message_id)
    instance = {
        "$type": INSTANCE_TYPE,
        "InstanceId": message.instance_id,
        "ExecutionId": message.execution_id,
    }
    data: dict[str, Any] = {
        "$type": MESSAGE_DATA_TYPE,
        "ActivityId": guid,
        "TaskMessage": {
            "$type": TASK_MESSAGE_TYPE,
            "Event": typed_event(message.event),
            "SequenceNumber": 0,
            "OrchestrationInstance": instance,
            "OrchestrationExecutionContext": None,
        },
        "CompressedBlobName": None,
        "SequenceNumber": sequence_number,
        "SerializableTraceContext": None,
    }
    if not exact:
        data["DevhostMessageId"] = message.message_id
    visible_at = getattr(message, "visible_at", None)
    if visible_at is not None:
        data["DevhostVisibleAt"] = format_ts(visible_at)
    return data


def wrapper(blob_name: str) -> dict[str, Any]:
    """The small envelope DTFx queues in place of a message whose body is in a blob."""
    return {
        "$type": MESSAGE_DATA_TYPE,
        "ActivityId": "00000000-0000-0000-0000-000000000000",
        "TaskMessage": None,
        "CompressedBlobName": blob_name,
        "SequenceNumber": 0,
        "SerializableTraceContext": None,
    }


def large_message_blob_name(message: OrchestrationMessage | ActivityMessage) -> str:
    """DTFx GetNewLargeMessageBlobName: ``{instanceId}/message-{ActivityId:N}-{EventType}.json.gz``."""
    guid, _ = activity_guid(message.message_id)
    event_type = EventType(message.event["EventType"]).name
    return f"{message.instance_id}/message-{uuid.UUID(guid).hex}-{event_type}.json.gz"


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode(data: dict[str, Any], *, activity: bool) -> Envelope:
    """The devhost message in a (blob-inlined) MessageData object."""
    task = data.get("TaskMessage")
    if not isinstance(task, dict):
        raise ValueError("queue message has no TaskMessage")
    event = untyped(task["Event"])
    if not isinstance(event, dict) or "EventType" not in event:
        raise ValueError("queue message has no history event")
    instance = task.get("OrchestrationInstance") or {}
    message_id = data.get("DevhostMessageId") or uuid.UUID(data["ActivityId"]).hex
    seq = int(data.get("SequenceNumber") or 0)
    if activity:
        return Envelope(
            ActivityMessage(instance["InstanceId"], instance.get("ExecutionId") or "", event, message_id), seq
        )
    visible = data.get("DevhostVisibleAt")
    return Envelope(
        OrchestrationMessage(
            instance["InstanceId"],
            event,
            execution_id=instance.get("ExecutionId"),
            visible_at=parse_ts(visible) if visible else None,
            message_id=message_id,
        ),
        seq,
    )


async def to_queue_body(
    message: OrchestrationMessage | ActivityMessage, sequence_number: int, large: LargePayloads
) -> str:
    """The text to enqueue: the MessageData JSON, or a wrapper naming the blob it was moved to."""
    body = dumps(encode(message, sequence_number))
    if len(body.encode("utf-8")) <= MAX_QUEUE_PAYLOAD_BYTES:
        return body
    name = large_message_blob_name(message)
    await large.upload(name, body)
    return dumps(wrapper(name))


async def from_queue_body(text: str, large: LargePayloads, *, activity: bool) -> Envelope:
    """Decode a dequeued text, fetching its blob first when it is a wrapper."""
    data = json.loads(text)
    blob = data.get("CompressedBlobName")
    if blob:
        data = json.loads(await large.download(blob))
    return decode(data, activity=activity)
