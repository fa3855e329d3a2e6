"""Queue primitives shared by the two receivers (the control queues in ``receiver.py``, the work-item queue
in ``workitems.py``): one receive call, reading a received message (a foreign or corrupt one is dropped),
making a held message visible again, and the back-off between full polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from devhost.store.azure import messages
from devhost.store.azure.clients import one_line
from devhost.store.azure.payloads import LargePayloads

log = logging.getLogger("devhost.store.azure")

MIN_POLL = 0.05  # seconds between full polls of a queue that just had messages
RECEIVE_BATCH = 32  # queue maximum (controlQueueBatchSize default)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def receive(queue: QueueClient, visibility: int) -> list[QueueMessage]:
    """One receive call: up to ``RECEIVE_BATCH`` messages, each invisible to others for ``visibility`` s."""
    pages = queue.receive_messages(messages_per_page=RECEIVE_BATCH, visibility_timeout=visibility).by_page()
    try:
        page = await pages.__anext__()
        return [m async for m in page]
    except StopAsyncIteration:
        return []


async def read(
    queue: QueueClient, qm: QueueMessage, large: LargePayloads, *, activity: bool
) -> messages.Envelope | None:
    """Decode a received message, or None: a foreign or corrupt one is deleted (it must not stop the hub);
    one whose blob cannot be fetched right now is left to come back after its lease."""
    noun = "work item" if activity else "message"
    try:
        return await messages.from_queue_body(str(qm.content), large, activity=activity)
    except messages.UNREADABLE as exc:
        where = "" if activity else f" in {queue.queue_name}"
        log.warning("dropping unreadable %s %s%s: %s", noun, qm.id, where, one_line(exc))
        with contextlib.suppress(ResourceNotFoundError):
            await queue.delete_message(qm.id, qm.pop_receipt)
    except (HttpResponseError, ServiceRequestError) as exc:
        log.warning("could not read %s %s (%s); it returns after its lease", noun, qm.id, one_line(exc))
    return None


async def make_visible(queue: QueueClient, message_id: str, pop_receipt: str) -> None:
    await queue.update_message(message_id, pop_receipt=pop_receipt, visibility_timeout=0)


class Backoff:
    """When the next full poll of a queue is due: soon after one that found messages, then at doubling
    intervals up to ``max_interval`` (the host's ``maxQueuePollingInterval``)."""

    def __init__(self, max_interval: float) -> None:
        self.max_interval = max_interval
        self.interval = MIN_POLL
        self.due = 0.0  # loop time

    def record(self, found: bool) -> None:
        self.interval = MIN_POLL if found else min(self.max_interval, self.interval * 2)
        self.due = loop_time() + self.interval
