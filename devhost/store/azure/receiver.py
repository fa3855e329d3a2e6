"""Receiving and leasing messages: the hub's queues as this process sees them.

One job: move messages in and out of the ``<hub>-control-NN`` queues (and, through ``workitems.py``, the
``<hub>-workitems`` queue) and keep the ones this process holds leased.

- Receiving: a received message stays invisible in its queue for one lease (the engine's lock, at most
  ``lease_seconds``); a renewal loop extends the lease while the message waits here, so a killed host's
  messages come back soon after a restart. Messages are held per instance, in arrival order.
- Locking: ``lock`` gives an episode an instance's due messages under a lock token. A lock taken here
  lapses by the engine's clock (its holder is presumed dead). A suspended instance with nothing that can
  wake it is parked until a new message arrives.
- Sending: once this process runs dispatchers, a message due now is enqueued *invisible* for one lease
  and held at once with the send's pop receipt (no receive round trip; should the process die, it
  reappears when the lease lapses, exactly like a received one). Queues this process wrote to are read at
  once; the others are polled with a back-off up to ``max_polling_interval``; delayed sends set a local
  timer for their partition.
- Buffering: as DurableTask.AzureStorage does, receiving from the control queues pauses while this process
  holds ``buffer_threshold`` (host.json ``controlQueueBufferThreshold``) or more of their messages, and a
  message sent then is put visible instead of held. A backlog waits in its queue, where it costs nothing,
  instead of in memory, where every held message's lease is renewed (PROTOCOL.md §6.1). Activity messages
  likewise: one sent while a receive batch of them already waits here is put visible (PROTOCOL.md §6.2).
- Deleting: ``delete`` is the last step of a checkpoint. Until then a consumed message comes back after
  its lease, and the journal (``journal.py``) recognises it; nothing here decides what is a duplicate.

The store (``store.py``) composes this with the journal and the instance table (``instances.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Container, Coroutine
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devhost.store.azure import keys, messages, queues
from devhost.store.azure.payloads import LargePayloads
from devhost.store.azure.queues import Backoff, loop_time, make_visible
from devhost.store.azure.workitems import WorkItems
from devhost.store.base import (
    WAKES_SUSPENDED,
    ActivityMessage,
    LockLostError,
    OrchestrationMessage,
    OrchestrationWorkItem,
)

log = logging.getLogger("devhost.store.azure")

MIN_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)
_MAX_VISIBILITY = 7 * 24 * 3600 - 60  # queues cap the initial invisibility at 7 days
# Activity messages sent by this process are held (their leases renewed) only while fewer than one receive
# batch of them wait for an activity slot; beyond that they wait visible in the work-item queue (§6.2).
WORK_ITEMS_HELD_MAX = queues.RECEIVE_BATCH


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Received:
    """A control-queue message held by this process (invisible in the queue until its lease lapses)."""

    queue: str
    queue_message_id: str
    pop_receipt: str
    message: OrchestrationMessage
    sequence: int
    expires: float = 0.0  # loop time when the queue lease lapses (renewed while held)


@dataclass
class Outgoing:
    """An encoded message to enqueue (the journal stores exactly these)."""

    queue: str
    body: str
    visible_at: dt.datetime | None
    # The decoded message, when this process may hold it for its own dispatchers (see ``send``).
    message: OrchestrationMessage | ActivityMessage | None = None
    sequence: int = 0


class Receiver:
    """The control queues of one hub, the messages this process holds from them, and their locks."""

    def __init__(
        self,
        control: list[QueueClient],
        work: WorkItems,
        large: LargePayloads,
        wake: asyncio.Event,
        *,
        max_polling_interval: float,
        lease_seconds: int,
        buffer_threshold: int = 256,
    ) -> None:
        self._control = control
        self.work = work
        self._large = large
        self.wake = wake
        self.lease_seconds = lease_seconds
        self.buffer_threshold = buffer_threshold
        # Messages held by this process, per instance (dict order = arrival order, for fairness).
        self.held: OrderedDict[str, dict[str, Received]] = OrderedDict()
        self.locked: dict[str, str] = {}  # instance -> lock token of its episode
        self._handed_out: dict[str, list[str]] = {}  # instance -> queue message ids of its locked work item
        self._lock_until: dict[str, dt.datetime] = {}  # instance -> lease end on the engine's clock
        self.parked: set[str] = set()  # suspended instances with nothing that can wake them
        self._dirty: set[int] = set()  # partitions this process wrote to: read at once
        self._backoff = Backoff(max_polling_interval)
        self._timers: list[tuple[float, int]] = []  # (loop time when visible, partition) of our delayed sends
        self._polling = False
        self.visibility = lease_seconds
        self._sequence = 0
        self._dispatching = False  # set by the first lock_next_* call: this process runs dispatchers
        self._renewer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ sending
    def _next_sequence(self) -> int:
        # 100 ns ticks since the epoch, strictly increasing in this process: orders one instance's messages.
        self._sequence = max(self._sequence + 1, time.time_ns() // 100)
        return self._sequence

    async def to_control(self, message: OrchestrationMessage) -> Outgoing:
        queue = self._control[keys.partition_index(message.instance_id, len(self._control))]
        return await self._outgoing(queue.queue_name, message, message.visible_at)

    async def to_work(self, message: ActivityMessage) -> Outgoing:
        return await self._outgoing(self.work.queue.queue_name, message, None)

    async def _outgoing(
        self, queue: str, message: OrchestrationMessage | ActivityMessage, visible_at: dt.datetime | None
    ) -> Outgoing:
        sequence = self._next_sequence()
        body = await messages.to_queue_body(message, sequence, self._large)
        return Outgoing(queue, body, visible_at, message, sequence)

    async def send(self, send: Outgoing) -> None:
        """Enqueue one encoded message; delayed ones become visible at ``visible_at`` (never earlier), and
        one due now is held at once when this process runs dispatchers (see the module docstring)."""
        delay = 0
        if send.visible_at is not None:
            delay = max(0, math.ceil((send.visible_at - utc_now()).total_seconds()))
        queue = self._queue(send.queue)
        hold = self._dispatching and delay == 0 and send.message is not None
        if isinstance(send.message, OrchestrationMessage) and self.buffer_full():
            hold = False  # the buffer is full: it waits in its queue, read once the buffer drains
        if isinstance(send.message, ActivityMessage) and len(self.work.held) >= WORK_ITEMS_HELD_MAX:
            hold = False  # enough activities wait here: a backlog waits in the queue (PROTOCOL.md §6.2)
        visibility = self.visibility if hold else min(delay, _MAX_VISIBILITY)
        # Never expire (time_to_live -1): a timer or a message for a suspended instance may wait for weeks.
        sent = await queue.send_message(send.body, visibility_timeout=visibility or None, time_to_live=-1)
        is_work_item = send.queue == self.work.queue.queue_name
        if hold:
            receipt = str(sent.pop_receipt)
            expires = loop_time() + visibility
            if isinstance(send.message, ActivityMessage):
                self.work.hold(sent.id, receipt, send.message, expires)
            elif isinstance(send.message, OrchestrationMessage):
                held = self.held.setdefault(send.message.instance_id, {})
                held[sent.id] = Received(send.queue, sent.id, receipt, send.message, send.sequence, expires)
                self.parked.discard(send.message.instance_id)
        elif is_work_item:
            self.work.dirty = True
        else:
            index = int(send.queue.rsplit("-", 1)[1])
            if delay:
                heapq.heappush(self._timers, (loop_time() + delay, index))
            else:
                self._dirty.add(index)
        self.wake.set()

    def _queue(self, name: str) -> QueueClient:
        if name == self.work.queue.queue_name:
            return self.work.queue
        return self._control[int(name.rsplit("-", 1)[1])]

    # ------------------------------------------------------------------ orchestration locks
    def lock(
        self, instance_id: str, now: dt.datetime, lock_for: dt.timedelta, finishing: Container[str]
    ) -> tuple[str, list[Received]] | None:
        """Lock ``instance_id`` and return its token and due messages; None if it is parked, locked (and its
        lock has not lapsed, or its checkpoint is still ``finishing``) or has nothing due."""
        if instance_id in self.parked:
            return None
        if instance_id in self.locked:
            # A lease taken by this process lapses by the engine's clock (the holder is presumed dead).
            if instance_id in finishing or now < self._lock_until.get(instance_id, now):
                return None
            log.warning("lease on %s expired; handing its messages to a new episode", instance_id)
            self.release(instance_id)
        held = self.held.get(instance_id)
        if not held:
            self.held.pop(instance_id, None)
            return None
        visible = [r for r in held.values() if r.message.visible_at is None or r.message.visible_at <= now]
        if not visible:
            return None
        token = uuid.uuid4().hex
        self.locked[instance_id] = token
        self._lock_until[instance_id] = now + lock_for
        return token, visible

    def may_wake(self, visible: list[Received]) -> bool:
        """Whether these messages can resume a suspended instance (otherwise it is parked)."""
        return any(r.message.event["EventType"] in WAKES_SUSPENDED for r in visible)

    def park(self, instance_id: str) -> None:
        self.parked.add(instance_id)
        self.release(instance_id)
        self.wake.set()  # its messages left the buffer: receiving may resume

    def hand_out(self, instance_id: str, visible: list[Received]) -> list[OrchestrationMessage]:
        """Record the messages given to the locked instance's episode, in send order."""
        visible.sort(key=lambda r: r.sequence)
        self._handed_out[instance_id] = [r.queue_message_id for r in visible]
        self.held.move_to_end(instance_id)
        return [r.message for r in visible]

    def handed_out(self, instance_id: str) -> list[str]:
        return list(self._handed_out.get(instance_id, []))

    def still_held(self, instance_id: str, queue_message_ids: list[str]) -> list[Received]:
        held = self.held.get(instance_id, {})
        return [held[q] for q in queue_message_ids if q in held]

    def release(self, instance_id: str) -> None:
        self.locked.pop(instance_id, None)
        self._lock_until.pop(instance_id, None)
        self._handed_out.pop(instance_id, None)

    def check_lock(self, item: OrchestrationWorkItem) -> None:
        if self.locked.get(item.instance_id) != item.lock_token:
            raise LockLostError(f"lock on instance {item.instance_id!r} was lost")

    async def delete(self, instance_id: str, done: list[Received]) -> None:
        """Delete consumed messages from their queues and forget them."""

        async def delete(r: Received) -> None:
            try:
                await self._queue(r.queue).delete_message(r.queue_message_id, r.pop_receipt)
            except ResourceNotFoundError:
                pass  # lease lapsed and the message was received again: the newer copy is dropped later

        await asyncio.gather(*(delete(r) for r in done))
        was_full = self.buffer_full()
        held = self.held.get(instance_id)
        if held is not None:
            for r in done:
                current = held.get(r.queue_message_id)
                if current is not None and current.pop_receipt == r.pop_receipt:
                    del held[r.queue_message_id]
            if not held:
                del self.held[instance_id]
        if was_full and not self.buffer_full():
            self.wake.set()  # receiving may resume

    # ------------------------------------------------------------------ leases
    def visibility_seconds(self, lock_for: dt.timedelta) -> int:
        """Queue lease for held messages: the engine's lock, capped by ``lease_seconds`` (renewed while held),
        so that a killed host's messages come back soon after a restart."""
        return max(1, min(self.lease_seconds, math.ceil(lock_for.total_seconds())))

    def start_leasing(self, lock_for: dt.timedelta) -> None:
        """Called by every lock_next_*: this process dispatches, so it holds what it sends and renews
        leases."""
        self._dispatching = True
        self.visibility = self.visibility_seconds(lock_for)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases(), name="devhost-azure-lease-renewal")

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    async def _renew_leases(self) -> None:
        """Keep held messages invisible while this process holds them (activities running, messages waiting
        for their instance): renew each lease when a third of it is left."""
        while True:
            await asyncio.sleep(max(0.2, self.visibility / 3))
            await self.renew_due()

    async def renew_due(self) -> None:
        """One renewal pass: every held lease with at most a third of it left, each for a whole lease."""
        due = loop_time() + self.visibility / 3
        jobs: list[Coroutine[Any, Any, None]] = []
        for instance_id, held in list(self.held.items()):
            if instance_id in self.locked:
                continue  # its episode deletes these messages; a lapse is deduplicated on redelivery
            jobs += [self._renew(r) for r in list(held.values()) if r.expires <= due]
        jobs += self.work.renewals(due, self.visibility)
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _renew(self, r: Received) -> None:
        try:
            updated = await self._queue(r.queue).update_message(
                r.queue_message_id, pop_receipt=r.pop_receipt, visibility_timeout=self.visibility
            )
        except (ResourceNotFoundError, HttpResponseError):
            return  # already deleted, or re-received with a newer receipt
        r.pop_receipt = str(updated.pop_receipt)
        r.expires = loop_time() + self.visibility

    async def give_back(self) -> None:
        """Make messages this process holds but has not started visible again, so that the next host
        (a restart) gets them at once instead of when their lease lapses."""
        jobs = [
            make_visible(self._queue(r.queue), r.queue_message_id, r.pop_receipt)
            for instance_id, held in self.held.items()
            if instance_id not in self.locked
            for r in held.values()
        ]
        jobs += self.work.give_back()
        self.held.clear()
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    # ------------------------------------------------------------------ polling
    async def poll(self, lock_for: dt.timedelta) -> None:
        """Receive from the partitions this process wrote to or whose timer is due, or from all of them
        when the back-off says a full poll is due."""
        if self._polling or self.buffer_full():
            return  # a full buffer: what is due stays marked (dirty partitions, timers) until it drains
        now = loop_time()
        targets = set(self._dirty)
        while self._timers and self._timers[0][0] <= now:
            targets.add(heapq.heappop(self._timers)[1])
        full = now >= self._backoff.due
        if full:
            targets = set(range(len(self._control)))
        if not targets:
            return
        self._dirty -= targets
        self._polling = True
        try:
            vt = self.visibility_seconds(lock_for)
            counts = await asyncio.gather(*(self._receive(i, vt) for i in sorted(targets)))
        finally:
            self._polling = False
        if full:
            # Only full polls steer the back-off: the partitions this process wrote to are read anyway.
            self._backoff.record(bool(sum(counts)))

    async def _receive(self, index: int, visibility: int) -> int:
        queue = self._control[index]
        received = await queues.receive(queue, visibility)
        if len(received) >= queues.RECEIVE_BATCH:
            self._dirty.add(index)  # there may be more right away
        expires = loop_time() + visibility
        for qm in received:
            envelope = await queues.read(queue, qm, self._large, activity=False)
            if envelope is None:
                continue
            message = envelope.message
            assert isinstance(message, OrchestrationMessage)
            held = self.held.setdefault(message.instance_id, {})
            held[qm.id] = Received(
                queue.queue_name, qm.id, str(qm.pop_receipt), message, envelope.sequence_number, expires
            )
            self.parked.discard(message.instance_id)
        return len(received)

    # ------------------------------------------------------------------ waiting
    def _waiting(self) -> list[Received]:
        """Held messages of instances an episode could take (not locked, not parked)."""
        return [
            r
            for i, held in self.held.items()
            if i not in self.locked and i not in self.parked
            for r in held.values()
        ]

    def has_ready_work(self) -> bool:
        """Work a dispatcher could take right now. Held activity messages do not count: a dispatcher that
        waits has refused them (all its activity slots are busy); a finishing activity wakes it."""
        if self.work.dirty or (self._dirty and not self.buffer_full()):
            return True
        now = utc_now()
        return any(r.message.visible_at is None or r.message.visible_at <= now for r in self._waiting())

    def next_visible_time(self, *, activities: bool) -> dt.datetime | None:
        """Earliest delivery time among held messages of unlocked instances (the engine sleeps until then);
        the minimum time while activity messages are held and wanted (the contract: work is pending)."""
        if activities and self.work.held:
            return MIN_TIME
        return min((r.message.visible_at or MIN_TIME for r in self._waiting()), default=None)

    async def wait_for_work(self, timeout: float) -> None:
        """Return when this process enqueued work, a local timer is due, or the next queue poll is due."""
        if self.has_ready_work():
            await asyncio.sleep(0)  # always yield: background checkpoint tails must be able to run
            return
        if timeout <= 0 and self.work.held:
            # Held activities the caller did not take (its slots are busy): a finishing activity wakes us.
            timeout = 0.005
        now = loop_time()
        deadline = self.work.backoff.due
        if not self.buffer_full():  # while it is full, a delete that drains it wakes us (see ``delete``)
            deadline = min(deadline, self._backoff.due)
            if self._timers:
                deadline = min(deadline, self._timers[0][0])
        # A due poll is the caller's next lock_next_* call; the floor keeps a caller that never polls that
        # queue from spinning.
        wait = max(0.005, min(timeout, deadline - now)) if timeout > 0 else 0.0
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)
        else:
            await asyncio.sleep(0)
        self.wake.clear()

    def buffered(self) -> int:
        """Control-queue messages this process holds (waiting or handed to an episode, until deleted).
        Those of parked instances do not count: only a resume frees them, and it must still be received."""
        return sum(len(v) for i, v in self.held.items() if i not in self.parked)

    def buffer_full(self) -> bool:
        return self.buffered() >= self.buffer_threshold

    def held_count(self) -> int:
        return sum(len(v) for v in self.held.values()) + len(self.work.held)
