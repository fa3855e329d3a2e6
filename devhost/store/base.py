"""The task-hub store contract: what the engine needs from durable storage, and nothing about the SDK or HTTP.

Two implementations: ``devhost.store.memory.MemoryStore`` (tests, harness, benchmark) and the Azure Storage
store (DurableTask.AzureStorage layout, PROTOCOL.md §6). The engine is written against this module only.

Model (mirrors DurableTask.AzureStorage):

* **Instances** (one ``InstanceRecord`` per instance id = the Instances table row of the current execution).
* **History** per execution: an append-only list of DTFx-shaped event dicts (``devhost.history``), PascalCase,
  ``EventType`` int; one dict maps 1:1 to one History table row (RowKey = index in the execution's list).
* **Control messages** (``OrchestrationMessage``): events addressed to an instance (ExecutionStarted,
  TaskCompleted/Failed, TimerFired, EventRaised, SubOrchestration*Completed/Failed, ExecutionTerminated,
  ExecutionSuspended/Resumed). Each has ``visible_at`` (delivery delay: timers are messages that become
  visible at ``FireAt``). Delivery order for one instance = enqueue order.
* **Work items** (``ActivityMessage``): TaskScheduled events for the activity workers (the work-item queue).
* **Leases**: an instance is processed by at most one episode at a time (``lock_next_orchestration``); an
  activity message by at most one worker at a time (``lock_next_activity``). Leases expire after
  ``lock_for`` so that a crashed worker's work is picked up again (at-least-once delivery).

Episode protocol (the engine's side; every store must make it safe):

1. ``item = await store.lock_next_orchestration(now, lock_for)`` — picks one instance that has at least one
   *visible* message (``visible_at <= now``) and is not locked, locks it, and returns **all** its visible
   messages (enqueue order), its ``InstanceRecord`` (or None if unknown) and the persisted history of its
   current execution. A ``Suspended`` instance is only eligible when one of its visible messages is
   ExecutionResumed (20) or ExecutionTerminated (3); its other messages stay queued meanwhile.
2. The engine runs the orchestrator and computes an ``EpisodeCommit``.
3. ``await store.commit_episode(item, commit)`` — atomically as far as the backend allows, in this order:
   append the history events, write the instance row, enqueue outbound control messages and activity
   messages, **then** delete the consumed messages (``item.messages``) and release the lock. A message is
   therefore deleted only after its effects are stored. Raises ``LockLostError`` if the lease expired and
   someone else took the instance (then nothing of the commit may be applied).
   ``abandon_orchestration(item)`` releases the lock and keeps the messages (they are redelivered).

Activity protocol: ``lock_next_activity`` → run → ``complete_activity(item, response)`` which enqueues the
response control message and then deletes the work item (or ``abandon_activity``).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from devhost.history import EventType, HistoryEvent, RuntimeStatus

__all__ = [
    "WAKES_SUSPENDED",
    "ActivityMessage",
    "ActivityWorkItem",
    "EpisodeCommit",
    "InstanceExistsError",
    "InstanceQuery",
    "InstanceRecord",
    "LockLostError",
    "OrchestrationMessage",
    "OrchestrationWorkItem",
    "StoreError",
    "TaskHubStore",
    "new_id",
]

# The only events a Suspended instance accepts (step 1 of the episode protocol above).
WAKES_SUSPENDED = frozenset({EventType.ExecutionTerminated, EventType.ExecutionResumed})


class StoreError(Exception):
    """Base class of the errors a store raises on purpose."""


class InstanceExistsError(StoreError):
    """``create_instance`` found an instance with that id in a state that may not be replaced."""

    def __init__(self, instance_id: str, status: RuntimeStatus) -> None:
        super().__init__(f"An Orchestration instance with the status {status.name} already exists.")
        self.instance_id = instance_id
        self.status = status


class LockLostError(StoreError):
    """The lease of a work item expired and the item was handed to another worker."""


_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def new_id() -> str:
    """Process-unique message id: a random per-process prefix + a counter (uuid4 per message is slow)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"


@dataclass
class InstanceRecord:
    """One Instances-table row (the instance's current execution). Payloads are JSON *text* as stored."""

    instance_id: str
    name: str
    execution_id: str
    runtime_status: RuntimeStatus
    created_time: dt.datetime
    last_updated_time: dt.datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    completed_time: dt.datetime | None = None
    version: str = ""
    generation: int = 0
    parent_instance_id: str | None = None
    tags: dict[str, str] | None = None
    scheduled_start_time: dt.datetime | None = None

    def copy(self) -> InstanceRecord:
        return InstanceRecord(**self.__dict__)

    def without_payloads(self) -> InstanceRecord:
        """A copy without input, output and custom status (``InstanceQuery.payloads`` False)."""
        return InstanceRecord(**{**self.__dict__, "input": None, "output": None, "custom_status": None})

    def continue_as_new(self, execution_id: str, input: str | None) -> None:
        """The row as a new execution of the instance begins (continue-as-new): running again, with the
        new execution's input and no output."""
        self.execution_id = execution_id
        self.input = input
        self.generation += 1
        self.runtime_status = RuntimeStatus.Running
        self.output = None
        self.completed_time = None

    @classmethod
    def pending(
        cls,
        instance_id: str,
        name: str,
        execution_id: str,
        now: dt.datetime,
        input: str | None,
        *,
        version: str = "",
        parent_instance_id: str | None = None,
    ) -> InstanceRecord:
        """The row of an instance just created (started by a client or by its parent), not yet run."""
        return cls(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            runtime_status=RuntimeStatus.Pending,
            created_time=now,
            last_updated_time=now,
            input=input,
            version=version,
            parent_instance_id=parent_instance_id,
        )


@dataclass
class OrchestrationMessage:
    """A control-queue message: one history event addressed to an instance.

    ``execution_id`` None means "whatever execution is current" (client raise/terminate); the engine drops a
    message whose ``execution_id`` names an execution that is no longer current (except ExecutionStarted,
    which starts that execution). ``visible_at`` None means visible immediately.
    """

    instance_id: str
    event: HistoryEvent
    execution_id: str | None = None
    visible_at: dt.datetime | None = None
    message_id: str = field(default_factory=new_id)


@dataclass
class ActivityMessage:
    """A work-item-queue message: a TaskScheduled event to execute for ``instance_id``/``execution_id``."""

    instance_id: str
    execution_id: str
    event: HistoryEvent
    message_id: str = field(default_factory=new_id)


@dataclass
class OrchestrationWorkItem:
    """A locked instance with its visible messages, its row and the current execution's history.

    ``history`` is read-only for the engine (stores may hand out their own list)."""

    instance_id: str
    messages: list[OrchestrationMessage]
    instance: InstanceRecord | None
    history: Sequence[HistoryEvent]
    lock_token: str
    locked_until: dt.datetime


@dataclass
class ActivityWorkItem:
    message: ActivityMessage
    lock_token: str
    locked_until: dt.datetime


@dataclass
class EpisodeCommit:
    """Everything one episode writes. ``history`` holds ``(execution_id, events)`` pairs to append in order
    (continue-as-new appends to the old execution and then starts the new one). ``instance`` None means
    "leave the row alone" (e.g. only stale messages were consumed); a row purged meanwhile is not
    recreated."""

    instance: InstanceRecord | None = None
    history: list[tuple[str, list[HistoryEvent]]] = field(default_factory=list)
    messages: list[OrchestrationMessage] = field(default_factory=list)
    activities: list[ActivityMessage] = field(default_factory=list)
    # Pending rows of sub-orchestrations this episode starts (their ExecutionStarted is in ``messages``).
    # Created only where no row exists or the existing one is terminal (Completed/Failed/Terminated/Canceled).
    new_instances: list[InstanceRecord] = field(default_factory=list)


@dataclass
class InstanceQuery:
    """Filters of the status query / purge-by-filter APIs (all optional, combined with AND)."""

    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    runtime_status: frozenset[RuntimeStatus] | None = None
    instance_id_prefix: str | None = None
    # False: the records come without input, output and custom status (None), which a list of many
    # instances never shows; a store may then read far less (Azure: devhost/store/azure/summaries.py).
    payloads: bool = True

    def matches(self, rec: InstanceRecord) -> bool:
        if self.created_from is not None and rec.created_time < self.created_from:
            return False
        if self.created_to is not None and rec.created_time > self.created_to:
            return False
        if self.runtime_status is not None and rec.runtime_status not in self.runtime_status:
            return False
        if self.instance_id_prefix is not None and not rec.instance_id.startswith(self.instance_id_prefix):
            return False
        return True


class TaskHubStore(abc.ABC):
    """Async task-hub storage. All datetimes are tz-aware UTC and come from the engine's clock (``now``
    parameters), never from the store's own clock, so that virtual time works on every store."""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Create tables/queues if needed."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # ------------------------------------------------------------------ client side
    @abc.abstractmethod
    async def create_instance(
        self,
        record: InstanceRecord,
        start: OrchestrationMessage,
        *,
        replaceable: Iterable[RuntimeStatus] | None,
    ) -> None:
        """Create or replace the instance row (status Pending) and enqueue its ExecutionStarted message.

        If an instance with that id exists and ``replaceable`` is not None and its status is not in
        ``replaceable``, raise ``InstanceExistsError`` and change nothing (conditional write). ``replaceable``
        None replaces any state. Replacing discards the old execution's pending messages' relevance: the
        engine ignores messages addressed to other executions.
        """

    @abc.abstractmethod
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance row, or None."""

    @abc.abstractmethod
    async def get_history(self, instance_id: str, execution_id: str | None = None) -> list[HistoryEvent]:
        """History of ``execution_id`` (default: the current execution); [] if none."""

    @abc.abstractmethod
    async def send_messages(self, messages: Sequence[OrchestrationMessage]) -> None:
        """Enqueue control messages (client raise/terminate/suspend/resume)."""

    @abc.abstractmethod
    async def query_instances(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        """One page of matching instances, in a stable order, plus an opaque continuation token (None at
        the end). Tokens from this store only; a bad token raises ``ValueError``."""

    @abc.abstractmethod
    async def purge_instance(self, instance_id: str) -> int:
        """Delete the row, every execution's history and pending messages of the instance. Returns 0 or 1."""

    async def purge_instances(self, query: InstanceQuery) -> int:
        """Purge every instance matching ``query``; returns how many. Default: query + purge one by one."""
        count = 0
        token: str | None = None
        ids: list[str] = []
        while True:
            page, token = await self.query_instances(query, 500, token)
            ids.extend(r.instance_id for r in page)
            if token is None:
                break
        for iid in ids:
            count += await self.purge_instance(iid)
        return count

    # ------------------------------------------------------------------ worker side
    @abc.abstractmethod
    async def lock_next_orchestration(
        self, now: dt.datetime, lock_for: dt.timedelta
    ) -> OrchestrationWorkItem | None:
        """Lock one instance with visible messages (see module doc, step 1), or None if there is none."""

    @abc.abstractmethod
    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        """Persist the episode, then delete ``item.messages`` and unlock (module doc, step 3)."""

    @abc.abstractmethod
    async def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        """Unlock without deleting the messages."""

    @abc.abstractmethod
    async def lock_next_activity(self, now: dt.datetime, lock_for: dt.timedelta) -> ActivityWorkItem | None:
        """Lock one activity message, or None."""

    @abc.abstractmethod
    async def complete_activity(self, item: ActivityWorkItem, response: OrchestrationMessage | None) -> None:
        """Enqueue ``response`` (TaskCompleted/TaskFailed), then delete the work item."""

    @abc.abstractmethod
    async def abandon_activity(self, item: ActivityWorkItem) -> None:
        """Unlock the work item so that it is delivered again."""

    @abc.abstractmethod
    async def next_visible_time(self, *, activities: bool = True) -> dt.datetime | None:
        """Earliest ``visible_at`` among pending control messages that are not visible yet considering only
        unlocked instances, or None. Used by the harness to skip time and by workers to sleep.

        Pending activity work counts as due now (``datetime.min``) unless ``activities`` is False: a worker
        whose activity slots are all busy cannot take it, and must sleep until other work is due."""

    async def wait_for_work(self, timeout: float) -> None:
        """Sleep until new work may exist or ``timeout`` seconds pass. Polling stores keep this default."""
        await asyncio.sleep(timeout)
