"""The durable client operations (what the extension's DurableClient does), on any ``TaskHubStore``.

The management API and the test harness both wrap this class; it implements the HTTP layer's ``HubClient``
protocol (devhost/http/hub.py). Payloads are JSON *text* as they will be stored; status checks follow the
extension (404 unknown → ``InstanceNotFoundError``, 410 → ``InstanceGoneError``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from devhost import history as h
from devhost.app_index import AppIndex
from devhost.clock import Clock, SystemClock
from devhost.engine import entities
from devhost.engine.episode import unknown_orchestrator_message
from devhost.history import RUNNING_STATUSES, TERMINAL_STATUSES, HistoryEvent, RuntimeStatus
from devhost.store.base import (
    InstanceQuery,
    InstanceRecord,
    OrchestrationMessage,
    TaskHubStore,
)
from devhost.versioning import Versioning

log = logging.getLogger("devhost.engine")


class UnknownOrchestratorError(ValueError):
    """start/restart named a function that is not a registered orchestrator (EXT: ArgumentException → 400)."""


class InstanceNotFoundError(LookupError):
    """No instance with that id (HTTP 404)."""


class InstanceGoneError(LookupError):
    """The instance is in a state that does not accept the operation (HTTP 410)."""


class InvalidInstanceStateError(RuntimeError):
    """The instance exists and is not finished, but its state refuses the operation: suspending one that
    is suspended, resuming one that is not (EXT `DurableClient.SuspendAsync`/`ResumeAsync` throw
    InvalidOperationException, which the HTTP API answers with 500; PROTOCOL.md §33)."""


# EXT DurableClient.IsOrchestrationSuspendable / IsOrchestrationSuspended (PROTOCOL.md §33).
SUSPENDABLE_STATES = frozenset({RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew})
RESUMABLE_STATES = frozenset({RuntimeStatus.Suspended})

NON_RUNNING_STATES = frozenset(
    {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated, RuntimeStatus.Canceled}
)


def json_text(value: str | None) -> str | None:
    """Re-serialise client JSON text compactly as DTFx stores it (Newtonsoft). Raises ValueError if the
    text is not JSON."""
    if value is None:
        return None
    return h.compact_json(json.loads(value))


class DurableClient:
    """Client API over a store. ``overridable`` = host.json ``overridableExistingInstanceStates``:
    "NonRunningStates" (default: starting an id that is Running/Pending/Suspended/ContinuedAsNew raises
    ``InstanceExistsError``) or "AnyState"."""

    def __init__(
        self,
        store: TaskHubStore,
        index: AppIndex,
        clock: Clock | None = None,
        *,
        hub_name: str = "TestHubName",
        overridable: str = "NonRunningStates",
        versioning: Versioning | None = None,
    ) -> None:
        self.store = store
        self.versioning = versioning or Versioning()
        self.index = index
        self.clock: Clock = clock or SystemClock()
        self.hub_name = hub_name
        self._replaceable: frozenset[RuntimeStatus] | None = (
            None if overridable.lower() == "anystate" else NON_RUNNING_STATES
        )

    # ------------------------------------------------------------------ start
    async def start(
        self, name: str, instance_id: str | None, input_json: str | None, version: str | None = None,
        *, trace: dict[str, Any] | None = None,
    ) -> str:
        """Create the instance (Pending) and enqueue ExecutionStarted. ``input_json`` is the request body's
        JSON text (None = no input); stored compact as ``ExecutionStarted.Input``. ``trace``: its
        ParentTraceContext (PROTOCOL.md §35). ``version`` None: this host's default version (§36)."""
        version = self.versioning.version_for(version)
        orch = self.index.orchestrator(name)
        if orch is None:
            raise UnknownOrchestratorError(unknown_orchestrator_message(name, self.index))
        iid = instance_id if instance_id else uuid.uuid4().hex
        _check_instance_id(iid)
        # No body: DTFx serializes the null input, so ExecutionStarted.Input is the text "null".
        stored_input = json_text(input_json) if input_json is not None else "null"
        now = self.clock.now()
        xid = uuid.uuid4().hex
        start = h.execution_started(
            h.format_ts(now),
            instance_id=iid,
            execution_id=xid,
            name=name,
            input_json=stored_input,
            version=version,
            trace=trace,
        )
        rec = InstanceRecord.pending(iid, name, xid, now, stored_input, version=version)
        await self.store.create_instance(
            rec, OrchestrationMessage(iid, start, execution_id=xid), replaceable=self._replaceable
        )
        return iid

    # ------------------------------------------------------------------ reads
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return await self.store.get_instance(instance_id)

    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        return await self.store.get_history(instance_id)

    async def query(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        return await self.store.query_instances(query, page_size, continuation)

    # ------------------------------------------------------------------ messages
    async def _require(self, instance_id: str, allowed: Iterable[RuntimeStatus]) -> InstanceRecord:
        rec = await self.store.get_instance(instance_id)
        if rec is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' was found.")
        if rec.runtime_status not in set(allowed):
            raise InstanceGoneError(
                f"The instance '{instance_id}' is in the {rec.runtime_status.name} state and cannot accept "
                "this operation."
            )
        return rec

    async def _require_state(
        self, instance_id: str, operation: str, allowed: frozenset[RuntimeStatus]
    ) -> None:
        """As `_require` for a running instance, then the extension's own state check, with its warning
        and its exception message word for word."""
        rec = await self._require(instance_id, RUNNING_STATUSES)
        if rec.runtime_status not in allowed:
            state = rec.runtime_status.name
            log.warning(
                "%s: Cannot %s orchestration instance in the %s state.", instance_id, operation, state
            )
            raise InvalidInstanceStateError(
                f"Cannot {operation} the orchestration instance {instance_id} because instance is in the "
                f"{state} state."
            )

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        """EXT RaiseEventAsync: ``input_json`` = request body JSON text, stored compact as
        EventRaised.Input."""
        await self._require(instance_id, RUNNING_STATUSES)
        ev = h.event_raised(h.format_ts(self.clock.now()), name, json_text(input_json))
        await self.store.send_messages([OrchestrationMessage(instance_id, ev)])

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._require(instance_id, RUNNING_STATUSES)
        ev = h.execution_terminated(h.format_ts(self.clock.now()), reason)
        await self.store.send_messages([OrchestrationMessage(instance_id, ev)])

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._require_state(instance_id, "suspend", SUSPENDABLE_STATES)
        ev = h.execution_suspended(h.format_ts(self.clock.now()), reason)
        await self.store.send_messages([OrchestrationMessage(instance_id, ev)])

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._require_state(instance_id, "resume", RESUMABLE_STATES)
        ev = h.execution_resumed(h.format_ts(self.clock.now()), reason)
        await self.store.send_messages([OrchestrationMessage(instance_id, ev)])

    async def restart(self, instance_id: str, new_instance_id: bool) -> str:
        """EXT RestartAsync: same name and (stored) input; the same id only if the instance is not running."""
        rec = await self.store.get_instance(instance_id)
        if rec is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' was found.")
        history = await self.store.get_history(instance_id)
        started = next((e for e in history if e["EventType"] == 0), None)
        input_json = started.get("Input") if started is not None else rec.input
        target = None if new_instance_id else instance_id
        return await self.start(rec.name, target, input_json, rec.version)

    # ------------------------------------------------------------------ entities
    async def signal_entity(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        """DurableClient.SignalEntityAsync: checks the id and that the entity function exists (EntityIdError,
        ValueError with the runtime's message), then sends the "op" event. ``input_text`` is the
        RequestMessage input as the HTTP API built it (None = no input)."""
        entities.check_entity_id(name, key)
        if self.index.entity(name) is None:
            raise ValueError(entities.unknown_entity_message(name.lower(), self.index))
        iid = entities.scheduler_id(name, key)
        request = entities.request_message(operation, input_text, signal=True)
        ev = h.event_raised(h.format_ts(self.clock.now()), entities.REQUEST_EVENT, request)
        await self.store.send_messages([OrchestrationMessage(iid, ev)])

    async def read_entity_state(self, name: str, key: str) -> tuple[bool, str | None]:
        """ReadEntityStateAsync (legacy): (exists, the entity's serialized state) from the instance row."""
        entities.check_entity_id(name, "")
        return entities.entity_state_of(await self.store.get_instance(entities.scheduler_id(name, key)))

    # ------------------------------------------------------------------ purge
    async def purge(self, instance_id: str) -> int:
        return await self.store.purge_instance(instance_id)

    async def purge_by(self, query: InstanceQuery) -> int:
        """AzureTableTrackingStore.PurgeInstanceHistoryAsync: the filter keeps only its terminal statuses
        (Completed/Terminated/Canceled/Failed), and with none left it filters on the created time alone, so
        running orchestrations and entities go too (PROTOCOL.md §37)."""
        terminal = frozenset(query.runtime_status or ()) & TERMINAL_STATUSES
        q = InstanceQuery(
            created_from=query.created_from,
            created_to=query.created_to or self.clock.now(),
            runtime_status=terminal or None,
            instance_id_prefix=query.instance_id_prefix,
        )
        return await self.store.purge_instances(q)


def _check_instance_id(iid: str) -> None:
    if not iid or iid.startswith("@") or len(iid) > 256 or any(ord(c) < 32 for c in iid):
        raise ValueError(
            f"Invalid instance id {iid!r}: must be 1-256 characters, no control characters, "
            "and must not start with '@'."
        )


def utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
