"""Activity messages: receiving and leasing the ``<hub>-workitems`` queue.

One job: hold the activity messages this process received (or sent to itself, see ``receiver.py``), hand
them to the activity dispatcher under a lock token, keep their queue lease renewed while they wait or run,
and delete each one once its response is stored. A work item whose response was sent but whose delete was
lost comes back after its lease; the orchestration's journal drops the duplicate response
(``journal.py``), so an activity may run twice but its result is recorded once, as in DTFx.

The receiver (``receiver.py``) owns the control queues, the renewal loop and the wake-up event; the store
(``store.py``) sends an activity's response before it calls ``finish`` here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devhost.store.azure import queues
from devhost.store.azure.clients import one_line
from devhost.store.azure.payloads import LargePayloads
from devhost.store.azure.queues import Backoff, loop_time, make_visible
from devhost.store.base import ActivityMessage, ActivityWorkItem, LockLostError

log = logging.getLogger("devhost.store.azure")


@dataclass
class ReceivedActivity:
    """A work-item message held by this process (invisible in the queue until its lease lapses)."""

    queue_message_id: str
    pop_receipt: str
    message: ActivityMessage
    expires: float = 0.0  # loop time when the queue lease lapses (renewed while held)
    # Serialises lease renewal and delete: both need the current pop receipt.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WorkItems:
    """The work-item queue as this process holds it: waiting (``held``) and running activities."""

    def __init__(
        self, queue: QueueClient, large: LargePayloads, wake: asyncio.Event, *, max_polling_interval: float
    ) -> None:
        self.queue = queue
        self._large = large
        self._wake = wake
        self.held: OrderedDict[str, ReceivedActivity] = OrderedDict()  # queue message id -> waiting
        self._running: dict[str, ReceivedActivity] = {}  # lock token -> activity being executed
        self._until: dict[str, dt.datetime] = {}  # lock token -> lease end (engine clock)
        self.dirty = False  # this process enqueued a work item it does not hold: poll at once
        self.backoff = Backoff(max_polling_interval)
        self._polling = False

    def hold(self, message_id: str, pop_receipt: str, message: ActivityMessage, expires: float) -> None:
        self.held[message_id] = ReceivedActivity(message_id, pop_receipt, message, expires)

    async def lock_next(
        self, now: dt.datetime, lock_for: dt.timedelta, visibility: int
    ) -> ActivityWorkItem | None:
        if not self.held:
            self._take_over_expired(now)
        if not self.held:
            await self._poll(visibility)
        if not self.held:
            return None
        _, received = self.held.popitem(last=False)
        token = uuid.uuid4().hex
        self._running[token] = received
        self._until[token] = now + lock_for
        return ActivityWorkItem(received.message, token, now + lock_for)

    def _take_over_expired(self, now: dt.datetime) -> None:
        """An activity lease taken by this process lapses by the engine's clock: deliver it again."""
        for token, until in list(self._until.items()):
            if until <= now:
                received = self._running.pop(token, None)
                del self._until[token]
                if received is not None:
                    log.warning(
                        "lease on work item %s expired; delivering it again", received.queue_message_id
                    )
                    self.held[received.queue_message_id] = received

    def running(self, item: ActivityWorkItem) -> ReceivedActivity:
        """The held message of ``item``, still locked by this process (before its response is sent)."""
        received = self._running.get(item.lock_token)
        if received is None:
            raise LockLostError(f"lock on activity message {item.message.message_id} was lost")
        return received

    def finish(self, item: ActivityWorkItem) -> ReceivedActivity | None:
        """Forget ``item``'s lock (its response is stored, or it is to be delivered again)."""
        self._until.pop(item.lock_token, None)
        return self._running.pop(item.lock_token, None)

    def requeue(self, received: ReceivedActivity) -> None:
        """Deliver a message again, to the next ``lock_next`` of this process."""
        self.held[received.queue_message_id] = received

    def abandon(self, item: ActivityWorkItem) -> None:
        received = self.finish(item)
        if received is not None:
            self.requeue(received)
            self._wake.set()

    async def delete(self, received: ReceivedActivity) -> None:
        try:
            async with received.lock:
                await self.queue.delete_message(received.queue_message_id, received.pop_receipt)
        except ResourceNotFoundError:
            pass  # its lease lapsed: the duplicate response it may cause is dropped by the orchestration
        except Exception as exc:  # noqa: BLE001 - it comes back after its lease; its response is deduplicated
            log.warning("could not delete work item %s: %s", received.queue_message_id, one_line(exc))

    # ------------------------------------------------------------------ leases
    def renewals(self, due: float, visibility: int) -> list[Coroutine[Any, Any, None]]:
        """Renewals of the lease of every held or running work item that lapses before ``due``."""
        activities = [*self.held.values(), *self._running.values()]
        return [self._renew(a, visibility) for a in activities if a.expires <= due]

    async def _renew(self, a: ReceivedActivity, visibility: int) -> None:
        async with a.lock:
            try:
                updated = await self.queue.update_message(
                    a.queue_message_id, pop_receipt=a.pop_receipt, visibility_timeout=visibility
                )
            except (ResourceNotFoundError, HttpResponseError):
                return
            a.pop_receipt = str(updated.pop_receipt)
            a.expires = loop_time() + visibility

    def give_back(self) -> list[Coroutine[Any, Any, Any]]:
        """Forget held-but-unstarted work items and return the requests making them visible again (at
        shutdown, so that the next host gets them at once instead of when their lease lapses)."""
        held, self.held = list(self.held.values()), OrderedDict()
        return [make_visible(self.queue, a.queue_message_id, a.pop_receipt) for a in held]

    # ------------------------------------------------------------------ polling
    async def _poll(self, visibility: int) -> None:
        if self._polling:
            return
        full = loop_time() >= self.backoff.due
        if not (full or self.dirty):
            return
        self.dirty = False
        self._polling = True
        try:
            received = await queues.receive(self.queue, visibility)
        finally:
            self._polling = False
        if len(received) >= queues.RECEIVE_BATCH:
            self.dirty = True
        if full:
            self.backoff.record(bool(received))
        for qm in received:
            running = next((r for r in self._running.values() if r.queue_message_id == qm.id), None)
            if running is not None:
                # Its lease lapsed while it ran: keep the newest receipt.
                running.pop_receipt = str(qm.pop_receipt)
                running.expires = loop_time() + visibility
                continue
            envelope = await queues.read(self.queue, qm, self._large, activity=True)
            if envelope is None:
                continue
            assert isinstance(envelope.message, ActivityMessage)
            self.hold(qm.id, str(qm.pop_receipt), envelope.message, loop_time() + visibility)
