"""Durable entities as the extension runs them for out-of-process languages (PROTOCOL.md §37).

An entity is an orchestration instance whose id is its scheduler id ``@<name lower-case>@<key>``. Requests
reach it as EventRaised events named ``op`` whose input is a RequestMessage; one episode takes every queued
request, calls the app's entity function once with the whole batch (the SDK's ``Entity.create`` handle), sends
each caller its ResponseMessage (an EventRaised named by the request id), and ends with continue-as-new whose
input is the scheduler state (``{"exists":…,"state":…,"sorter":{}}``): the instance row's Input is therefore
where the entity state lives, as in the extension's TaskEntityShim + DurableTaskExtension.EntityMiddleware.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devhost import history as h
from devhost.app_index import AppIndex
from devhost.clock import Clock
from devhost.execlog import DURABLE_REASON, execution
from devhost.history import EventType, HistoryEvent, RuntimeStatus
from devhost.store.base import EpisodeCommit, InstanceRecord, OrchestrationMessage

log = logging.getLogger("devhost.engine")

REQUEST_EVENT = "op"  # EntityMessageEventNames.RequestMessageEventName
DEFAULT_DATETIME = "0001-01-01T00:00:00"  # Newtonsoft's text for an unset DateTime
_INVALID_KEY_MESSAGE = "Entity keys must not contain /, \\, #, ?, or control characters."


class OperationError(Exception):
    """An entity operation's error, for the Executed (Failed) log line."""


class EntityIdError(ValueError):
    """An entity name or key the runtime refuses; ``str()`` is the runtime's message."""


def scheduler_id(name: str, key: str) -> str:
    """EntityId.GetSchedulerId: the name is lower-cased (EntityId's constructor), the key kept as is."""
    return f"@{name.lower()}@{key}"


def parse_scheduler_id(instance_id: str) -> tuple[str, str]:
    """EntityId.GetEntityIdFromSchedulerId: the name runs to the second '@', the key is the rest."""
    pos = instance_id.find("@", 1)
    if not instance_id.startswith("@") or pos < 0:
        raise EntityIdError(f"Not an entity scheduler id: {instance_id!r}")
    return instance_id[1:pos], instance_id[pos + 1 :]


def is_entity(instance_id: str) -> bool:
    return instance_id.startswith("@")


def _invalid_key_char(c: str) -> bool:
    # DurableClient.IsInvalidCharacter: '/', '\\', '#', '?' and char.IsControl (C0, DEL, C1)
    return c in "/\\#?" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F


def check_entity_id(name: str, key: str) -> None:
    """What EntityId's constructor and DurableClient.SignalEntityAsync refuse, with their messages."""
    if not name:
        raise EntityIdError(
            "Invalid entity id: entity name must not be a null or empty string. (Parameter 'entityName')"
        )
    if any(_invalid_key_char(c) for c in key):
        # The extension passes the message and the parameter name to ArgumentException the other way
        # round, so .NET prints the parameter name as the message (DurableClient.SignalEntityAsyncInternal).
        raise EntityIdError(f"entityKey (Parameter '{_INVALID_KEY_MESSAGE}')")


def unknown_entity_message(name: str, index: AppIndex) -> str:
    """DurableTaskExtension.GetInvalidEntityFunctionMessage, including its test of the *orchestrator* count
    (so an app without orchestrators is told that no entity functions are registered)."""
    msg = f"The function '{name}' doesn't exist, is disabled, or is not an entity function. Additional info: "
    if index.orchestrators:
        return (
            msg
            + "The following are the known entity functions: '"
            + "', '".join(e.name for e in index.entities.values())
            + "'."
        )
    return msg + "No entity functions are currently registered!"


def request_message(
    operation: str,
    input_text: str | None,
    *,
    signal: bool,
    parent_instance: str | None = None,
    parent_execution: str | None = None,
    timestamp: str = DEFAULT_DATETIME,
    request_id: str | None = None,
) -> str:
    """RequestMessage as Newtonsoft writes it: declared order, defaults (false/null/0) left out."""
    body: dict[str, Any] = {"op": operation}
    if signal:
        body["signal"] = True
    if input_text is not None:
        body["input"] = input_text
    body["id"] = request_id or str(uuid.uuid4())
    if parent_instance is not None:
        body["parent"] = parent_instance
    if parent_execution is not None:
        body["parentExecution"] = parent_execution
    body["Timestamp"] = timestamp
    body["Predecessor"] = DEFAULT_DATETIME
    return h.compact_json(body)


def event_sent(ts: str, event_id: int, instance_id: str, name: str, input_text: str | None) -> HistoryEvent:
    """DTFx EventSentEvent: what an orchestration (or entity) records for a message it sends."""
    return {
        "EventType": int(EventType.EventSent),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": ts,
        "InstanceId": instance_id,
        "Name": name,
        "Input": input_text,
    }


@dataclass
class SchedulerState:
    """The extension's SchedulerState (EntityScheduler/SchedulerState.cs): the continue-as-new input."""

    exists: bool = False
    state: str | None = None
    queue: list[dict[str, Any]] | None = None

    @classmethod
    def load(cls, text: str | None) -> SchedulerState:
        if not text:
            return cls()
        data = json.loads(text)
        if not isinstance(data, dict):
            return cls()
        queue = data.get("queue")
        return cls(bool(data.get("exists")), data.get("state"), list(queue) if queue else None)

    def dump(self) -> str:
        out: dict[str, Any] = {}
        if self.exists:
            out["exists"] = True
        if self.state is not None:
            out["state"] = self.state
        if self.queue:
            out["queue"] = self.queue
        out["sorter"] = {}
        return h.compact_json(out)


def entity_state_of(record: InstanceRecord | None) -> tuple[bool, str | None]:
    """(exists, serialized state) as ReadEntityStateAsync reads them from the instance row's Input."""
    if record is None or not record.input:
        return False, None
    try:
        st = SchedulerState.load(record.input)
    except ValueError:
        return False, None
    return (True, st.state) if st.exists else (False, None)


def listed_entity(record: InstanceRecord, fetch_state: bool) -> dict[str, Any] | None:
    """DurableEntityStatus of one entity instance for the entity list (EntityQueryResult): None for an
    instance that is not an existing entity (its custom status lacks ``"entityExists": true``)."""
    try:
        status = json.loads(record.custom_status or "null")
        name, key = parse_scheduler_id(record.instance_id)
    except ValueError:
        return None
    if not isinstance(status, dict) or status.get("entityExists") is not True:
        return None
    state: Any = None
    if fetch_state:
        exists, text = entity_state_of(record)
        if exists and text is not None:
            try:
                state = json.loads(text)
            except ValueError:
                state = text  # the extension falls back to the raw string too
    return {
        "entityId": {"name": name, "key": key},
        "lastOperationTime": h.status_time(record.last_updated_time),
        "state": state,
    }


def invoke_entity(handle: Any, trigger_name: str, context_json: str) -> dict[str, Any]:
    """Call the SDK handle as the worker does (the EntityContext bound to the trigger's parameter name)."""
    text = handle(**{trigger_name: func.EntityContext(context_json)})
    result = json.loads(text)
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        raise ValueError("Out of proc orchestrators must return a valid JSON schema.")
    return result


class EntityRunner:
    """Turns an entity's work item into a commit (one batch of operations, then continue-as-new)."""

    def __init__(self, index: AppIndex, clock: Clock) -> None:
        self.index = index
        self.clock = clock

    def run(
        self, iid: str, inst: InstanceRecord | None, messages: list[OrchestrationMessage]
    ) -> EpisodeCommit:
        commit = EpisodeCommit()
        now = self.clock.now()
        ts = h.format_ts(now)
        name, key = parse_scheduler_id(iid)
        events: list[HistoryEvent] = [h.orchestrator_started(ts)]
        created = inst is None or inst.runtime_status in h.TERMINAL_STATUSES
        if created:
            # DTFx starts an entity's instance on its first message ("automatically started by DTFx",
            # TaskEntityShim.Rehydrate); the orchestration name is the scheduler id itself.
            xid = uuid.uuid4().hex
            events.append(
                h.execution_started(ts, instance_id=iid, execution_id=xid, name=iid, input_json=None)
            )
            inst = InstanceRecord(iid, iid, xid, RuntimeStatus.Running, now, now)
        else:
            assert inst is not None
            inst = inst.copy()
        state = SchedulerState.load(inst.input)
        queue = list(state.queue or [])
        for m in messages:
            ev = m.event
            if ev["EventType"] == EventType.EventRaised and str(ev.get("Name") or "").startswith(
                REQUEST_EVENT
            ):
                try:
                    request = json.loads(ev.get("Input") or "")
                except ValueError:
                    request = None
                if isinstance(request, dict) and "id" in request:
                    queue.append(request)
                else:
                    log.warning("entity %s: dropping a request that is not a RequestMessage", iid)
                events.append(h.as_persisted(ev))
            elif ev["EventType"] == EventType.EventRaised:
                events.append(h.as_persisted(ev))  # release / continue: no locks in the Python SDK
        if len(events) == 1 + int(created) and not queue:
            return commit  # only stale messages

        sent: list[HistoryEvent] = []
        if queue:
            self._execute(iid, name, key, state, queue, commit, sent, ts)
        state.queue = None
        state_text = state.dump()
        events.extend(sent)
        events.append(h.continue_as_new(ts, len(sent), state_text))
        events.append(h.orchestrator_completed(ts))
        old_xid = inst.execution_id
        new_xid = uuid.uuid4().hex
        ts2 = h.format_ts(self.clock.now())
        started = h.execution_started(
            ts2,
            instance_id=iid,
            execution_id=new_xid,
            name=iid,
            input_json=state_text,
            generation=inst.generation + 1,
        )
        commit.history.append((old_xid, events))
        commit.history.append(
            (
                new_xid,
                [h.as_persisted(e) for e in (h.orchestrator_started(ts2), started)]
                + [h.orchestrator_completed(ts2)],
            )
        )
        inst.continue_as_new(new_xid, state_text)
        inst.last_updated_time = now
        # EntityStatus (TaskEntityShim.GetStatus): defaults left out, so a deleted idle entity shows {}.
        inst.custom_status = h.compact_json({"entityExists": True} if state.exists else {})
        commit.instance = inst
        if created:
            commit.new_instances.append(inst.copy())
        return commit

    def _execute(
        self,
        iid: str,
        name: str,
        key: str,
        state: SchedulerState,
        batch: list[dict[str, Any]],
        commit: EpisodeCommit,
        sent: list[HistoryEvent],
        ts: str,
    ) -> None:
        fn = self.index.entity(name)
        results: list[dict[str, Any]]
        signals: list[Any] = []
        if fn is None:
            message = unknown_entity_message(name, self.index)
            results = [{"isError": True, "result": h.compact_json(message)} for _ in batch]
        else:
            context = {
                "self": {"name": name, "key": key},
                "exists": state.exists,
                "state": state.state,
                "batch": [
                    {"name": r.get("op"), "input": r.get("input"), "isSignal": bool(r.get("signal"))}
                    for r in batch
                ],
            }
            try:
                with execution(fn.function_name, str(uuid.uuid4()), DURABLE_REASON) as run:
                    out = invoke_entity(fn.handle, fn.trigger_name, json.dumps(context))
                    failed = [r for r in out["results"] if isinstance(r, dict) and r.get("isError")]
                    if failed:
                        # The extension rethrows operation errors after the batch, so the host logs the
                        # execution as Failed (DurableTaskExtension.EntityMiddleware, step 6).
                        run.failed(OperationError(f"Error in operation: {failed[0].get('result')}"))
            except Exception as exc:  # noqa: BLE001 - the batch fails, the entity state stays as it was
                text = str(exc) or type(exc).__name__
                results = [{"isError": True, "result": h.compact_json(text)} for _ in batch]
            else:
                results = list(out["results"])
                if len(results) != len(batch):
                    text = "Out of proc orchestrators must return a valid JSON schema."
                    results = [{"isError": True, "result": h.compact_json(text)} for _ in batch]
                else:
                    state.exists = bool(out.get("entityExists"))
                    raw_state = out.get("entityState")
                    state.state = raw_state if state.exists and isinstance(raw_state, str) else None
                    signals = list(out.get("signals") or [])
        for request, result in zip(batch, results, strict=True):
            parent = request.get("parent")
            if request.get("signal") or not parent:
                continue
            response: dict[str, Any] = {"result": result.get("result")}
            if result.get("isError"):
                response["exceptionType"] = "Error"  # TaskEntityShim.ExecuteOutOfProcBatch
            text = h.compact_json(response)
            sent.append(event_sent(ts, len(sent), parent, str(request["id"]), text))
            commit.messages.append(
                OrchestrationMessage(
                    parent,
                    h.event_raised(ts, str(request["id"]), text),
                    execution_id=request.get("parentExecution"),
                )
            )
        for signal in signals:
            target = signal.get("target") or {}
            tid = scheduler_id(str(target.get("name", "")), str(target.get("key", "")))
            text = request_message(
                str(signal.get("name")), signal.get("input"), signal=True, parent_instance=iid
            )
            sent.append(event_sent(ts, len(sent), tid, REQUEST_EVENT, text))
            commit.messages.append(OrchestrationMessage(tid, h.event_raised(ts, REQUEST_EVENT, text)))
