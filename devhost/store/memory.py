"""In-memory task hub (harness, tests, benchmark): the ``TaskHubStore`` contract with dicts, ready
queues and a timer heap, so that locking the next instance is O(1) amortised even with thousands of instances.

Work for instances already running goes before instances a client has just started: under a burst of starts
(thousands of bookings posted at once) the instances in flight finish or park first, instead of every one of
them being in flight at once, each holding its episode's objects until the burst has gone through.

Single event loop only (no thread safety needed: the engine calls stores from its loop)."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import json
import zlib
from collections import deque
from collections.abc import Iterable, Sequence

from devhost.history import TERMINAL_STATUSES, HistoryEvent, RuntimeStatus
from devhost.store.base import (
    WAKES_SUSPENDED,
    ActivityMessage,
    ActivityWorkItem,
    EpisodeCommit,
    InstanceExistsError,
    InstanceQuery,
    InstanceRecord,
    LockLostError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    TaskHubStore,
    new_id,
)

_MIN = dt.datetime.min.replace(tzinfo=dt.UTC)

# One execution's history: its events while the instance is busy, or their compact JSON text compressed
# while no episode is about to extend it: once it has finished (or continued as new from that execution), and
# while it waits with nothing on the way to it but a timer or an event from outside (parked: a booking
# waiting days for its payment). Every instance stays here until purged: a finished trip sub-orchestration's
# ~20 events took 15.5 KB as dicts and strings, a parked booking's ~7 KB; as JSON text still more than half
# of that (payloads are JSON inside JSON), compressed ~1/5 (bench/README.md, "Parked at scale").
_History = list[HistoryEvent] | bytes


def _events(history: _History) -> list[HistoryEvent]:
    if isinstance(history, bytes):
        events: list[HistoryEvent] = json.loads(zlib.decompress(history))
        return events
    return history


def _packed(history: _History) -> bytes:
    if isinstance(history, bytes):
        return history
    return zlib.compress(json.dumps(history, separators=(",", ":"), ensure_ascii=False).encode(), 1)


# A row's payloads (input, output, custom status: JSON text) are kept the same way while its history is:
# a parked booking's input and view are ~3 KB of text, ~2/3 of what its row costs.
_PAYLOADS_WORTH_PACKING = 512  # characters; below it the compressed form saves too little to matter


def _packed_payloads(rec: InstanceRecord) -> bytes | None:
    payloads = (rec.input, rec.output, rec.custom_status)
    if sum(len(p) for p in payloads if p) < _PAYLOADS_WORTH_PACKING:
        return None
    return zlib.compress(json.dumps(payloads, separators=(",", ":"), ensure_ascii=False).encode(), 1)


def _parks(
    item: OrchestrationWorkItem, commit: EpisodeCommit, pending: Sequence[OrchestrationMessage]
) -> bool:
    """Whether an episode leaves its instance waiting with nothing on the way to it: no activity
    scheduled, nothing sent at once (a child started, an entity called: their answers come back soon), and
    no message that arrived during the episode waiting to be processed. A timer (a message sent with a
    delay) or an event from outside (a webhook, an operator) can take days."""
    if commit.activities or any(m.visible_at is None for m in commit.messages):
        return False
    consumed = {m.message_id for m in item.messages}
    return all(m.message_id in consumed or m.visible_at is not None for m in pending)


class MemoryStore(TaskHubStore):
    def __init__(self) -> None:
        self._instances: dict[str, InstanceRecord] = {}  # without payloads where they are in `_payloads`
        self._payloads: dict[str, bytes] = {}
        self._histories: dict[str, dict[str, _History]] = {}
        self._pending: dict[str, list[OrchestrationMessage]] = {}
        self._ready: deque[str] = deque()  # instances with work, running ones (and their new children)
        self._ready_started: deque[str] = deque()  # instances a client started, served when none above waits
        self._in_ready: set[str] = set()
        self._delayed: list[tuple[dt.datetime, int, str]] = []
        self._seq = 0
        self._locks: dict[str, tuple[str, dt.datetime]] = {}
        self._activities: deque[ActivityMessage] = deque()
        self._activity_locks: dict[str, tuple[ActivityMessage, dt.datetime]] = {}
        self._changed: asyncio.Event | None = None

    # ------------------------------------------------------------------ internals
    def _signal(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _mark_ready(self, iid: str, *, started_by_client: bool = False) -> None:
        if iid not in self._in_ready:
            self._in_ready.add(iid)
            (self._ready_started if started_by_client else self._ready).append(iid)

    def _keep(self, rec: InstanceRecord, *, packed: bool = False) -> None:
        """Store a copy of ``rec``, its payloads compressed apart when ``packed`` (see `_History`)."""
        iid = rec.instance_id
        self._payloads.pop(iid, None)
        payloads = _packed_payloads(rec) if packed else None
        if payloads is None:
            self._instances[iid] = rec.copy()
        else:
            self._payloads[iid] = payloads
            self._instances[iid] = rec.without_payloads()

    def _whole(self, rec: InstanceRecord) -> InstanceRecord:
        """A copy of a stored row with its payloads."""
        full = rec.copy()
        payloads = self._payloads.get(rec.instance_id)
        if payloads is not None:
            full.input, full.output, full.custom_status = json.loads(zlib.decompress(payloads))
        return full

    def _enqueue(self, msg: OrchestrationMessage, *, started_by_client: bool = False) -> None:
        self._pending.setdefault(msg.instance_id, []).append(msg)
        if msg.visible_at is None:
            self._mark_ready(msg.instance_id, started_by_client=started_by_client)
        else:
            self._seq += 1
            heapq.heappush(self._delayed, (msg.visible_at, self._seq, msg.instance_id))
        self._signal()

    def _release_expired(self, now: dt.datetime) -> None:
        for iid, (_, until) in list(self._locks.items()):
            if until <= now:
                del self._locks[iid]
                self._mark_ready(iid)
        for token, (msg, until) in list(self._activity_locks.items()):
            if until <= now:
                del self._activity_locks[token]
                self._activities.append(msg)

    # ------------------------------------------------------------------ client side
    async def create_instance(
        self,
        record: InstanceRecord,
        start: OrchestrationMessage,
        *,
        replaceable: Iterable[RuntimeStatus] | None,
    ) -> None:
        old = self._instances.get(record.instance_id)
        if old is not None and replaceable is not None and old.runtime_status not in set(replaceable):
            raise InstanceExistsError(record.instance_id, old.runtime_status)
        self._keep(record)
        self._histories.setdefault(record.instance_id, {})[record.execution_id] = []
        self._enqueue(start, started_by_client=True)

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        rec = self._instances.get(instance_id)
        return self._whole(rec) if rec is not None else None

    async def get_history(self, instance_id: str, execution_id: str | None = None) -> list[HistoryEvent]:
        if execution_id is None:
            rec = self._instances.get(instance_id)
            if rec is None:
                return []
            execution_id = rec.execution_id
        return list(_events(self._histories.get(instance_id, {}).get(execution_id, [])))

    async def send_messages(self, messages: Sequence[OrchestrationMessage]) -> None:
        for m in messages:
            self._enqueue(m)

    async def query_instances(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        if page_size <= 0:
            raise ValueError("page size must be positive")
        after = ""
        if continuation:
            if not continuation.startswith("mem:"):
                raise ValueError("invalid continuation token")
            after = continuation[4:]
        ids = sorted(i for i in self._instances if i > after) if after else sorted(self._instances)
        out: list[InstanceRecord] = []
        for iid in ids:
            rec = self._instances[iid]
            if query.matches(rec):
                if len(out) == page_size:
                    return out, "mem:" + out[-1].instance_id
                out.append(self._whole(rec) if query.payloads else rec.without_payloads())
        return out, None

    async def purge_instance(self, instance_id: str) -> int:
        if self._instances.pop(instance_id, None) is None:
            return 0
        self._payloads.pop(instance_id, None)
        self._histories.pop(instance_id, None)
        # Purge leaves the queues alone. An orchestration's leftover messages would be dropped on arrival (no
        # ExecutionStarted), so they go now; an entity's (`@name@key`) start it afresh, as on Azure Storage
        # (PROTOCOL.md §37), so they stay.
        if not instance_id.startswith("@"):
            self._pending.pop(instance_id, None)
        return 1

    # ------------------------------------------------------------------ worker side
    async def lock_next_orchestration(
        self, now: dt.datetime, lock_for: dt.timedelta
    ) -> OrchestrationWorkItem | None:
        if self._locks:
            self._release_expired(now)
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            self._mark_ready(heapq.heappop(delayed)[2])
        for ready in (self._ready, self._ready_started):
            item = self._lock_first(ready, now, lock_for)
            if item is not None:
                return item
        return None

    def _lock_first(
        self, ready: deque[str], now: dt.datetime, lock_for: dt.timedelta
    ) -> OrchestrationWorkItem | None:
        for _ in range(len(ready)):
            iid = ready.popleft()
            self._in_ready.discard(iid)
            if iid in self._locks:
                continue  # re-marked when unlocked
            pending = self._pending.get(iid)
            if not pending:
                continue
            msgs = [m for m in pending if m.visible_at is None or m.visible_at <= now]
            if not msgs:
                continue
            rec = self._instances.get(iid)
            if (
                rec is not None
                and rec.runtime_status is RuntimeStatus.Suspended
                and not any(m.event["EventType"] in WAKES_SUSPENDED for m in msgs)
            ):
                continue  # re-marked when a new message arrives
            token = new_id()
            until = now + lock_for
            self._locks[iid] = (token, until)
            history: Sequence[HistoryEvent] = ()
            if rec is not None:
                history = _events(self._histories.get(iid, {}).get(rec.execution_id, []))
            whole = self._whole(rec) if rec is not None else None
            return OrchestrationWorkItem(iid, msgs, whole, history, token, until)
        return None

    def _check_lock(self, item: OrchestrationWorkItem) -> None:
        lock = self._locks.get(item.instance_id)
        if lock is None or lock[0] != item.lock_token:
            raise LockLostError(f"lock on instance {item.instance_id!r} was lost")

    def _unlock(self, iid: str) -> None:
        self._locks.pop(iid, None)
        if self._pending.get(iid):
            self._mark_ready(iid)

    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        self._check_lock(item)
        iid = item.instance_id
        for execution_id, events in commit.history:
            if events:
                executions = self._histories.setdefault(iid, {})
                current = executions.get(execution_id)
                if isinstance(current, list):
                    current.extend(events)
                else:
                    executions[execution_id] = _events(current or []) + list(events)
        if commit.instance is not None and iid in self._instances:
            # Histories no episode will extend soon: the finished instance's, those of executions it
            # continued as new from, and the current one of an instance left waiting (`_parks`).
            finished = commit.instance.runtime_status in TERMINAL_STATUSES
            parks = not finished and _parks(item, commit, self._pending.get(iid, ()))
            self._keep(commit.instance, packed=finished or parks)
            executions = self._histories.get(iid, {})
            for execution_id, history in executions.items():
                if isinstance(history, list) and (
                    finished or parks or execution_id != commit.instance.execution_id
                ):
                    executions[execution_id] = _packed(history)
        for rec in commit.new_instances:
            old = self._instances.get(rec.instance_id)
            if old is None or old.runtime_status in TERMINAL_STATUSES:
                self._keep(rec)
                # An entity's first episode creates its own row and has already appended its history.
                self._histories.setdefault(rec.instance_id, {}).setdefault(rec.execution_id, [])
        for m in commit.messages:
            self._enqueue(m)
        if commit.activities:
            self._activities.extend(commit.activities)
            self._signal()
        consumed = {m.message_id for m in item.messages}
        pending = self._pending.get(iid)
        if pending is not None:
            rest = [m for m in pending if m.message_id not in consumed]
            if rest:
                self._pending[iid] = rest
            else:
                del self._pending[iid]
        self._unlock(iid)

    async def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        lock = self._locks.get(item.instance_id)
        if lock is not None and lock[0] == item.lock_token:
            self._unlock(item.instance_id)

    async def lock_next_activity(self, now: dt.datetime, lock_for: dt.timedelta) -> ActivityWorkItem | None:
        if self._activity_locks:
            self._release_expired(now)
        if not self._activities:
            return None
        msg = self._activities.popleft()
        token = new_id()
        until = now + lock_for
        self._activity_locks[token] = (msg, until)
        return ActivityWorkItem(msg, token, until)

    async def complete_activity(self, item: ActivityWorkItem, response: OrchestrationMessage | None) -> None:
        if self._activity_locks.pop(item.lock_token, None) is None:
            raise LockLostError(f"lock on activity message {item.message.message_id} was lost")
        if response is not None:
            self._enqueue(response)

    async def abandon_activity(self, item: ActivityWorkItem) -> None:
        entry = self._activity_locks.pop(item.lock_token, None)
        if entry is not None:
            self._activities.append(entry[0])
            self._signal()

    async def next_visible_time(self, *, activities: bool = True) -> dt.datetime | None:
        if activities and self._activities:
            return _MIN
        best: dt.datetime | None = None
        for iid, msgs in self._pending.items():
            if iid in self._locks:
                continue
            rec = self._instances.get(iid)
            suspended = rec is not None and rec.runtime_status is RuntimeStatus.Suspended
            for m in msgs:
                if suspended and m.event["EventType"] not in WAKES_SUSPENDED:
                    continue
                t = m.visible_at or _MIN
                if best is None or t < best:
                    best = t
        return best

    async def wait_for_work(self, timeout: float) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
        self._changed.clear()

    # ------------------------------------------------------------------ introspection for tests
    def pending_message_count(self) -> int:
        return sum(len(v) for v in self._pending.values()) + len(self._activities)
