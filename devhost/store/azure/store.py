"""The task hub in Azure Storage (Azurite or a real account) in DurableTask.AzureStorage's layout
(PROTOCOL.md §6): ``<hub>Instances`` / ``<hub>History`` tables, ``<hub>-control-NN`` and ``<hub>-workitems``
queues, gzip blobs in ``<hub>-largemessages``.

``AzureStorageStore`` is the ``TaskHubStore`` (``devhost/store/base.py``) over these, composed of parts
that each do one job:

- ``receiver.py`` / ``workitems.py``: receiving and leasing messages (control queues, work items,
  visibility, lock tokens, waiting for work);
- ``journal.py``: the crash-safe checkpoint (history + sentinel + journal in one transaction, then the
  other effects, then the deletes; redelivered messages are recognised, never replayed);
- ``instances.py``: instance rows and reads (status, history, query, purge).

What stays here is the order in which the parts are used: an episode's messages come from the receiver,
redelivered ones are filtered by the journal, the checkpoint is written by the journal and finished in the
background while the instance stays locked, and reads first wait for those background tails.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError

from devhost.history import TERMINAL_STATUSES, HistoryEvent, RuntimeStatus
from devhost.store import base, timeline
from devhost.store.azure import keys
from devhost.store.azure.clients import HubClients, RequestCounter, one_line
from devhost.store.azure.instances import InstanceTable
from devhost.store.azure.journal import InstanceState, Journal, applied, journal_of, split_redelivered
from devhost.store.azure.payloads import LargePayloads
from devhost.store.azure.queues import MIN_POLL
from devhost.store.azure.receiver import Outgoing, Received, Receiver
from devhost.store.azure.workitems import WorkItems

log = logging.getLogger("devhost.store.azure")

# Instances whose state (row, whole history, journal) this process keeps between episodes, least recently
# used first out; a finished instance leaves as soon as its last checkpoint is done (a late message for it
# reads it back). A booking's state is ~10-40 KB, so the cache stays under ~80 MB even when full.
_CACHE_SIZE = 2000
# Benchmarks only: a file this process keeps rewriting with its storage request counts by service, so a
# benchmark driving devhost from outside can count the requests a booking costs (bench/booking.py).
COUNTS_FILE_SETTING = "DEVHOST_STORAGE_COUNTS_FILE"
_COUNTS_EVERY = 0.5  # seconds; the file is written in a thread, never on the event loop


class StorageUnavailableError(base.StoreError):
    """Azure Storage could not be reached or refused the account (one line, no secrets)."""


class AzureStorageStore(base.TaskHubStore):
    """``TaskHubStore`` over Azure Storage (tables, queues, blobs). One event loop; one host per hub.

    ``python -m devhost start --storage <connection string>`` builds it through ``create_store`` (call
    ``open()`` next). ``lease_seconds`` caps how long a message this process holds stays invisible without
    renewal, i.e. how soon a killed host's work resumes after a restart (DTFx leaves it for the 5-minute
    visibility timeout). ``buffer_threshold`` is host.json's ``controlQueueBufferThreshold``: receiving from
    the control queues pauses while this process holds that many of their messages (PROTOCOL.md §6.1)."""

    def __init__(
        self,
        connection_string: str,
        *,
        hub_name: str,
        partition_count: int = 4,
        max_polling_interval: float = 30.0,
        counter: RequestCounter | None = None,
        lease_seconds: int = 10,
        buffer_threshold: int = 256,
    ) -> None:
        if not 1 <= partition_count <= 16:
            raise ValueError("partitionCount must be between 1 and 16")
        self.hub = keys.validate_hub_name(hub_name)
        self.partition_count = partition_count
        self.max_polling_interval = max(MIN_POLL, max_polling_interval)
        self.lease_seconds = max(1, lease_seconds)
        if not 1 <= buffer_threshold <= 1000:
            raise ValueError("controlQueueBufferThreshold must be between 1 and 1000")
        self.buffer_threshold = buffer_threshold
        self._connection_string = connection_string
        self.counter = counter or RequestCounter()
        self._clients: HubClients | None = None
        self._receiver: Receiver | None = None
        self._journal: Journal | None = None
        self._rows: InstanceTable | None = None
        self._cache: OrderedDict[str, InstanceState] = OrderedDict()
        self._finishing: dict[str, asyncio.Task[None]] = {}  # instance -> the tail of its last commit
        # Instances whose commit is in flight (the engine overlaps checkpoints of different instances): like
        # a finishing one, such an instance's lock never counts as lapsed, so no second episode starts.
        self._committing: set[str] = set()
        self._effects: dict[str, asyncio.Event] = {}  # instance -> set once that tail's sends are done
        # Set whenever a tail has sent its messages or ended: what a dispatcher with nothing to lock waits
        # for (one event, so that its wake-up is one loop step away, not a chain of helper tasks).
        self._tail_moved = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._counts_writer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle and parts
    @property
    def clients(self) -> HubClients:
        if self._clients is None:
            raise base.StoreError("the Azure Storage store is not open")
        return self._clients

    @property
    def receiver(self) -> Receiver:
        assert self._receiver is not None, "store not open"
        return self._receiver

    @property
    def journal(self) -> Journal:
        assert self._journal is not None, "store not open"
        return self._journal

    @property
    def rows(self) -> InstanceTable:
        assert self._rows is not None, "store not open"
        return self._rows

    async def open(self) -> None:
        """Create the hub's tables, queues and container if needed; fail fast if storage is unreachable."""
        if self._clients is not None:
            return
        try:
            clients = HubClients.from_connection_string(self._connection_string, self.counter)
        except ValueError as exc:
            raise StorageUnavailableError(f"invalid storage connection string: {one_line(exc)}") from None
        self._clients = clients
        names = keys.HubNames.of(self.hub, self.partition_count)
        instances = clients.tables.get_table_client(names.instances_table)
        history = clients.tables.get_table_client(names.history_table)
        control = [clients.queues.get_queue_client(name) for name in names.control_queues]
        workitems = clients.queues.get_queue_client(names.workitem_queue)
        container = clients.blobs.get_container_client(names.large_messages_container)
        large = LargePayloads(container)
        wake = asyncio.Event()
        work = WorkItems(workitems, large, wake, max_polling_interval=self.max_polling_interval)
        self._receiver = Receiver(
            control,
            work,
            large,
            wake,
            max_polling_interval=self.max_polling_interval,
            lease_seconds=self.lease_seconds,
            buffer_threshold=self.buffer_threshold,
        )
        self._rows = InstanceTable(self.hub, instances, history, large)
        self._journal = Journal(history, self._rows, large, self._receiver.send, self._forget, self._born)
        try:
            # The first call probes the account without the SDK's long retry schedule.
            await _ensure(instances.create_table(retry_total=1))
            await asyncio.gather(
                _ensure(history.create_table()),
                *(_ensure(q.create_queue()) for q in [*control, workitems]),
                _ensure(container.create_container()),
            )
        except (ServiceRequestError, HttpResponseError, OSError) as exc:
            await self.close()
            raise StorageUnavailableError(f"Azure Storage cannot be reached: {one_line(exc)}") from None
        counts_file = os.environ.get(COUNTS_FILE_SETTING)
        if counts_file:
            self._counts_writer = asyncio.create_task(self._write_counts(counts_file))

    async def _write_counts(self, path: str) -> None:
        """Rewrite ``path`` with the request counts whenever they changed (atomically: write, rename)."""
        last: dict[str, int] = {}
        while True:
            counts = self.counter.snapshot()
            if counts != last:
                await asyncio.to_thread(_write_json, path, counts)
                last = counts
            await asyncio.sleep(_COUNTS_EVERY)

    async def close(self) -> None:
        """Finish background writes, hand held-but-unstarted messages back to the queues, close clients."""
        if self._counts_writer is not None:
            self._counts_writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counts_writer
            self._counts_writer = None
        await self.flush()
        if self._receiver is not None:
            await self._receiver.stop()
        if self._clients is not None:
            if self._receiver is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._receiver.give_back(), 10)
            clients, self._clients = self._clients, None
            await clients.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ------------------------------------------------------------------ client side
    async def create_instance(
        self,
        record: base.InstanceRecord,
        start: base.OrchestrationMessage,
        *,
        replaceable: Iterable[RuntimeStatus] | None,
    ) -> None:
        created = await self.rows.create(record, replaceable)
        self._forget(record.instance_id)
        if created:
            self._born(record)
        await self.receiver.send(await self.receiver.to_control(start))

    async def get_instance(self, instance_id: str) -> base.InstanceRecord | None:
        await self._settled()
        record, _ = await self.rows.read(instance_id)
        return record

    async def get_history(self, instance_id: str, execution_id: str | None = None) -> list[HistoryEvent]:
        await self._settled()
        if execution_id is None:
            record, _ = await self.rows.read(instance_id)
            if record is None:
                return []
            execution_id = record.execution_id
        events, _, _ = await self.rows.read_history(instance_id, execution_id)
        return events

    async def send_messages(self, messages_: Sequence[base.OrchestrationMessage]) -> None:
        sends = [await self.receiver.to_control(m) for m in messages_]
        await asyncio.gather(*(self.receiver.send(s) for s in sends))

    async def query_instances(
        self, query: base.InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[base.InstanceRecord], str | None]:
        if page_size <= 0:
            raise ValueError("page size must be positive")
        await self._settled()
        return await self.rows.query(query, page_size, continuation)

    async def purge_instance(self, instance_id: str) -> int:
        purged = await self.rows.purge(instance_id)
        if purged:
            self._forget(instance_id)
        return purged

    def _born(self, record: base.InstanceRecord) -> None:
        """This process just created the row of an instance that had none (a client's start, or a
        sub-orchestration's row written by its parent's checkpoint): it has no history, so its first episode
        needs no reads. (Should a stale sentinel exist, the first checkpoint's conditional insert fails and
        the episode is redone from storage.)"""
        if record.instance_id in self.receiver.locked:
            return
        self._cache[record.instance_id] = InstanceState(record.copy(), record.execution_id, [], None, None)
        self._cache.move_to_end(record.instance_id)
        self._trim_cache()

    def _forget(self, instance_id: str) -> None:
        """Drop what this process knows of an instance whose row was replaced or removed by someone else."""
        if instance_id not in self.receiver.locked:
            self._cache.pop(instance_id, None)
        self.receiver.parked.discard(instance_id)

    # ------------------------------------------------------------------ worker side: orchestrations
    async def _state(self, instance_id: str) -> InstanceState:
        state = self._cache.get(instance_id)
        if state is not None:
            self._cache.move_to_end(instance_id)
            return state
        state = await self.journal.load(instance_id)
        self._cache[instance_id] = state
        self._trim_cache()
        return state

    def _trim_cache(self) -> None:
        while len(self._cache) > _CACHE_SIZE:
            oldest = next(iter(self._cache))
            if oldest in self.receiver.locked:
                self._cache.move_to_end(oldest)
                break
            self._cache.popitem(last=False)

    async def lock_next_orchestration(
        self, now: dt.datetime, lock_for: dt.timedelta
    ) -> base.OrchestrationWorkItem | None:
        self.receiver.start_leasing(lock_for)
        await self.receiver.poll(lock_for)
        item = await self._try_lock(now, lock_for)
        if item is None and self._finishing:
            # Nothing else to do: wait until a checkpoint tail hands this process a message (its sends are
            # done) or releases an instance with waiting messages, whichever comes first, then look once
            # more. Not for every tail to end: the row write and the deletes after the sends would sit on
            # the critical path of the instance the message is for.
            await self._tail_progress()
            item = await self._try_lock(now, lock_for)
        return item

    async def _tail_progress(self) -> None:
        busy = any(self.receiver.held.get(i) for i in self._finishing)
        if busy or self._effects:
            self._tail_moved.clear()
            await self._tail_moved.wait()

    async def _try_lock(self, now: dt.datetime, lock_for: dt.timedelta) -> base.OrchestrationWorkItem | None:
        rx = self.receiver
        busy = {*self._finishing, *self._committing}
        for instance_id in list(rx.held):
            locked = rx.lock(instance_id, now, lock_for, busy)
            if locked is None:
                continue
            token, visible = locked
            try:
                state = await self._state(instance_id)
                visible = await self._drop_redelivered(instance_id, state, visible)
                if not visible:
                    rx.release(instance_id)
                    self._forget_if_done(instance_id, state)
                    continue
                record = state.record
                if (
                    record is not None
                    and record.runtime_status is RuntimeStatus.Suspended
                    and not rx.may_wake(visible)
                ):
                    rx.park(instance_id)
                    continue
            except BaseException:
                rx.release(instance_id)
                self._cache.pop(instance_id, None)
                raise
            return base.OrchestrationWorkItem(
                instance_id=instance_id,
                messages=rx.hand_out(instance_id, visible),
                instance=record.copy() if record is not None else None,
                history=tuple(state.history),
                lock_token=token,
                locked_until=now + lock_for,
            )
        return None

    def _forget_if_done(self, iid: str, state: InstanceState) -> None:
        """A finished instance read again only for stale messages — the timer of a booking paid before its
        deadline fires into a completed orchestration — leaves the cache again, like one that just finished
        (``_finish``); otherwise every such instance stays until 2,000 are cached."""
        if _finished(state) and not self.receiver.held.get(iid) and iid not in self.receiver.locked:
            self._cache.pop(iid, None)

    async def _drop_redelivered(
        self, instance_id: str, state: InstanceState, visible: list[Received]
    ) -> list[Received]:
        """Delete messages whose effects are already stored, after finishing the last checkpoint if a crash
        cut it short (``journal.py`` explains why this is safe).

        A journal read cold whose row shows it was not applied to the end (``applied``) is applied now, even
        when none of its consumed messages is back yet: after a restart a newer message may come first — a
        cancel raised into a booking, an entity's next operation — and its episode replaces the journal, so
        a message the dead worker never sent (a trip's start, an entity's answer) would be lost for good. A
        finished checkpoint is never applied again, so its activity work never runs twice. Where the
        journal carries no row, it is applied when one of its messages comes back (and an entity's whenever
        it is read cold, as entities get new messages all the time)."""
        keep, redelivered, replay = split_redelivered(state, visible)
        if state.journal is not None:
            done = applied(state.record, state.journal)
            cold_entity = instance_id.startswith("@") and bool(keep)
            if done is False or (done is None and (replay or cold_entity)):
                log.info("finishing the last checkpoint of %s, which a crash cut short", instance_id)
                await self.journal.apply(state, state.journal)
                state.journal = None
            elif done:
                state.journal = None
        if redelivered:
            await self.receiver.delete(instance_id, redelivered)
        return keep

    async def commit_episode(self, item: base.OrchestrationWorkItem, commit: base.EpisodeCommit) -> None:
        self.receiver.check_lock(item)
        self._committing.add(item.instance_id)
        try:
            await self._commit(item, commit)
        finally:
            self._committing.discard(item.instance_id)

    async def _commit(self, item: base.OrchestrationWorkItem, commit: base.EpisodeCommit) -> None:
        rx = self.receiver
        iid = item.instance_id
        state = self._cache.get(iid) or await self._state(iid)
        nothing = not (commit.instance or commit.messages or commit.activities or commit.new_instances)
        if nothing and not any(events for _, events in commit.history):
            # Only stale messages were consumed: there is no effect to make durable first.
            await rx.delete(iid, rx.still_held(iid, rx.handed_out(iid)))
            rx.release(iid)
            self._forget_if_done(iid, state)
            return
        try:
            sends = [await rx.to_control(m) for m in commit.messages]
            sends += [await rx.to_work(a) for a in commit.activities]
            journal = journal_of(commit, sends)
            await self.journal.write(state, iid, commit, journal, [m.message_id for m in item.messages])
        except BaseException:
            # Nothing or only history landed: the journal is re-applied when the messages come back.
            self._cache.pop(iid, None)
            rx.release(iid)
            raise
        # The episode is durable now. Its other effects and the deletes finish in the background while the
        # instance stays locked, so the dispatcher can start the next instance's episode at once.
        if commit.instance is not None:
            state.record = commit.instance.copy()
        handed = rx.handed_out(iid)
        self._effects[iid] = asyncio.Event()
        self._finishing[iid] = self._spawn(self._finish(iid, state, journal, sends, handed, item.lock_token))

    async def _finish(
        self,
        iid: str,
        state: InstanceState,
        journal: dict[str, Any],
        sends: list[Outgoing],
        handed: list[str],
        token: str,
    ) -> None:
        """Steps 2 and 3 of a checkpoint (``journal.py``): apply the journal, then delete the messages."""
        rx = self.receiver
        tail = timeline.get()
        began = time.time()
        def sent() -> None:
            effects = self._effects.pop(iid, None)
            if effects is not None:
                effects.set()
                self._tail_moved.set()

        try:
            try:
                # The messages are this process's to run as soon as they are sent: the instance they are
                # for need not wait for this one's row write and deletes.
                await self.journal.apply(state, journal, sends, sent)
            finally:
                sent()
            state.journal = None
            await rx.delete(iid, rx.still_held(iid, handed))
            if _finished(state) and not rx.held.get(iid) and rx.locked.get(iid) == token:
                # Nothing more will happen to it: keeping its history would only fill the cache with
                # instances that are done (and make every garbage collection walk them).
                self._cache.pop(iid, None)
        except Exception as exc:  # noqa: BLE001 - recovered from the journal when the messages return
            log.warning(
                "checkpoint of %s not finished (%s); it is re-applied on redelivery", iid, one_line(exc)
            )
            self._cache.pop(iid, None)
        finally:
            self._finishing.pop(iid, None)
            if rx.locked.get(iid) == token:
                rx.release(iid)
            rx.wake.set()
            self._tail_moved.set()
            if tail is not None:
                tail.add(began, time.time(), "tail", "")

    async def abandon_orchestration(self, item: base.OrchestrationWorkItem) -> None:
        if self.receiver.locked.get(item.instance_id) == item.lock_token:
            self.receiver.release(item.instance_id)
            self.receiver.wake.set()

    async def _settled(self) -> None:
        """Wait for every checkpoint tail still running, so reads see this process's writes."""
        await self._settled_many(list(self._finishing))

    async def _settled_many(self, instance_ids: list[str]) -> None:
        pending = [t for t in (self._finishing.get(i) for i in instance_ids) if t is not None]
        if pending:
            await asyncio.wait(pending)

    async def _effects_settled(self) -> None:
        """Wait until the running checkpoint tails have sent their messages (deletes may still run)."""
        events = list(self._effects.values())
        if events:
            await asyncio.wait([asyncio.create_task(e.wait()) for e in events])

    async def flush(self) -> None:
        """Wait until every background write of this process has finished."""
        while self._background:
            await asyncio.wait(list(self._background))

    # ------------------------------------------------------------------ worker side: activities
    async def lock_next_activity(
        self, now: dt.datetime, lock_for: dt.timedelta
    ) -> base.ActivityWorkItem | None:
        rx = self.receiver
        rx.start_leasing(lock_for)
        if not rx.work.held and self._effects:
            await self._effects_settled()  # a checkpoint tail may be about to hand us an activity
        return await rx.work.lock_next(now, lock_for, rx.visibility_seconds(lock_for))

    async def complete_activity(
        self, item: base.ActivityWorkItem, response: base.OrchestrationMessage | None
    ) -> None:
        work = self.receiver.work
        received = work.running(item)
        try:
            if response is not None:
                await self.receiver.send(await self.receiver.to_control(response))
        except BaseException:
            work.finish(item)
            work.requeue(received)  # deliver again
            raise
        work.finish(item)
        # The response is stored; the work item's delete does not hold up the caller.
        self._spawn(work.delete(received))

    async def abandon_activity(self, item: base.ActivityWorkItem) -> None:
        self.receiver.work.abandon(item)

    # ------------------------------------------------------------------ waiting
    async def next_visible_time(self, *, activities: bool = True) -> dt.datetime | None:
        await self._settled()
        return self.receiver.next_visible_time(activities=activities)

    async def wait_for_work(self, timeout: float) -> None:
        await self.receiver.wait_for_work(timeout)

    # ------------------------------------------------------------------ introspection for tests and bench
    def held_message_count(self) -> int:
        return self.receiver.held_count() if self._receiver is not None else 0


def _write_json(path: str, value: Any) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)


def _finished(state: InstanceState) -> bool:
    return state.record is not None and state.record.runtime_status in TERMINAL_STATUSES


async def _ensure(coro: Any) -> None:
    try:
        await coro
    except ResourceExistsError:
        pass


create_store = AzureStorageStore  # the factory devhost's command line looks up in this package
