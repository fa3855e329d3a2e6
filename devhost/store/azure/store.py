"""The task hub in Azure Storage (Azurite or a real account) in DurableTask.AzureStorage's layout
(PROTOCOL.md §6).

``<hub>Instances`` / ``<hub>History`` tables, ``<hub>-control-NN`` and ``<hub>-workitems`` queues, gzip blobs
in ``<hub>-largemessages``. Crash safety: an episode's history, its sentinel row and a *journal* of its other
effects (instance row, sub-orchestration rows, outbound messages) are written in one table transaction;
consumed messages are deleted last. A message that comes back after a crash is recognised (its id is in the
sentinel, or its completion is already in history): the journal is re-applied and the message is deleted,
so history is never duplicated and no outbound message is lost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import heapq
import json
import logging
import math
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from devhost.history import TERMINAL_STATUSES, EventType, HistoryEvent, RuntimeStatus, format_ts, parse_ts
from devhost.store.azure import entities, keys, messages, payloads
from devhost.store.azure.clients import HubClients, RequestCounter
from devhost.store.base import (
    ActivityMessage,
    ActivityWorkItem,
    EpisodeCommit,
    InstanceExistsError,
    InstanceQuery,
    InstanceRecord,
    LockLostError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    StoreError,
    TaskHubStore,
)

log = logging.getLogger("devhost.store.azure")

_MIN = dt.datetime.min.replace(tzinfo=dt.UTC)
_WAKE_TYPES = (EventType.ExecutionTerminated, EventType.ExecutionResumed)
_MAX_BATCH_ROWS = 99  # + the sentinel = 100 operations, the table transaction limit
_MAX_BATCH_BYTES = 3 * 1024 * 1024  # DTFx starts a new transaction beyond ~3 MB (the limit is 4 MB)
_MAX_VISIBILITY = 7 * 24 * 3600 - 60  # queues cap the initial invisibility at 7 days
_RECENT_IDS = 100  # message ids remembered in the sentinel to drop late duplicates
_MIN_POLL = 0.05
_RECEIVE_BATCH = 32  # queue maximum (controlQueueBatchSize default)
_CACHE_SIZE = 2000

# Devhost's own sentinel columns (DTFx readers ignore unknown columns).
COL_EVENT_COUNT = "DevhostEventCount"
COL_CONSUMED = "DevhostConsumed"
COL_RECENT = "DevhostRecentMessages"
COL_JOURNAL = "DevhostJournal"
COL_JOURNAL_BLOB = "DevhostJournalBlobName"


# Decoding failures that mean "this message is not ours / is corrupt" (dropped), as opposed to storage errors
# while fetching a large message's blob (the message is left to come back). A missing blob is corrupt too.
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, ResourceNotFoundError)


class StorageUnavailableError(StoreError):
    """Azure Storage could not be reached or refused the account (one line, no secrets)."""


def create_store(
    connection_string: str,
    *,
    hub_name: str,
    partition_count: int = 4,
    max_polling_interval: float = 30.0,
    counter: RequestCounter | None = None,
    lease_seconds: int = 10,
) -> AzureStorageStore:
    """Factory used by ``python -m devhost start --storage <connection string>`` (call ``open()`` next).

    ``lease_seconds`` caps how long a message this process holds stays invisible without renewal, i.e.
    how soon a killed host's work resumes after a restart (DTFx leaves it for the 5-minute visibility
    timeout)."""
    return AzureStorageStore(
        connection_string,
        hub_name,
        partition_count=partition_count,
        max_polling_interval=max_polling_interval,
        counter=counter,
        lease_seconds=lease_seconds,
    )


@dataclass
class _Received:
    """A control-queue message held by this process (invisible in the queue until its lease lapses)."""

    queue: str
    queue_message_id: str
    pop_receipt: str
    message: OrchestrationMessage
    sequence: int
    expires: float = 0.0  # loop time when the queue lease lapses (renewed while held)


@dataclass
class _ReceivedActivity:
    queue_message_id: str
    pop_receipt: str
    message: ActivityMessage
    expires: float = 0.0
    # Serialises lease renewal and delete: both need the current pop receipt.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _InstanceState:
    """What this process knows of one instance's row and its current execution's history."""

    record: InstanceRecord | None
    execution_id: str | None
    history: list[HistoryEvent]
    sentinel: dict[str, Any] | None  # the sentinel row as read/written (None: no row yet)
    sentinel_etag: str | None
    journal: dict[str, Any] | None = None  # effects of the last checkpoint (only after a cold read)
    last_consumed: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)


@dataclass
class _Send:
    queue: str
    body: str
    visible_at: dt.datetime | None
    # The decoded message, when this process may hold it for its own dispatchers (see _send).
    message: OrchestrationMessage | ActivityMessage | None = None
    sequence: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


class AzureStorageStore(TaskHubStore):
    """``TaskHubStore`` over Azure Storage (tables, queues, blobs). One event loop; one host per hub."""

    def __init__(
        self,
        connection_string: str,
        hub_name: str,
        *,
        partition_count: int = 4,
        max_polling_interval: float = 30.0,
        counter: RequestCounter | None = None,
        lease_seconds: int = 10,
    ) -> None:
        if not 1 <= partition_count <= 16:
            raise ValueError("partitionCount must be between 1 and 16")
        self.hub = keys.validate_hub_name(hub_name)
        self.partition_count = partition_count
        self.max_polling_interval = max(_MIN_POLL, max_polling_interval)
        self.lease_seconds = max(1, lease_seconds)
        self._renewer: asyncio.Task[None] | None = None
        self._connection_string = connection_string
        self.counter = counter or RequestCounter()
        self._clients: HubClients | None = None
        self._instances: TableClient | None = None
        self._history: TableClient | None = None
        self._control: list[QueueClient] = []
        self._workitems: QueueClient | None = None
        self._payloads: payloads.LargePayloads | None = None
        # Messages held by this process, per instance (dict order = arrival order, for fairness).
        self._buffer: OrderedDict[str, dict[str, _Received]] = OrderedDict()
        self._locked: dict[str, str] = {}
        self._handed_out: dict[str, list[str]] = {}  # instance -> queue message ids of its locked work item
        self._lock_until: dict[str, dt.datetime] = {}  # instance -> lease end on the engine's clock
        self._parked: set[str] = set()  # suspended instances with nothing that can wake them
        self._cache: OrderedDict[str, _InstanceState] = OrderedDict()
        self._activities: OrderedDict[str, _ReceivedActivity] = OrderedDict()
        self._running: dict[str, _ReceivedActivity] = {}  # lock token -> activity being executed
        # Polling: queues this process just wrote to are read at once; the rest back off.
        self._dirty_control: set[int] = set()
        self._dirty_workitems = False
        self._control_due = 0.0
        self._control_backoff = _MIN_POLL
        self._work_due = 0.0
        self._work_backoff = _MIN_POLL
        self._timers: list[tuple[float, int]] = []  # (loop time when visible, partition) of our delayed sends
        self._wake = asyncio.Event()
        self._polling_control = False
        self._polling_work = False
        self._visibility = self.lease_seconds
        self._sequence = 0
        self._dispatching = False  # set by the first lock_next_* call: this process runs dispatchers
        self._finishing: dict[str, asyncio.Task[None]] = {}  # instance -> the tail of its last commit
        self._effects: dict[str, asyncio.Event] = {}  # instance -> set once that tail's sends are done
        self._activity_until: dict[str, dt.datetime] = {}  # activity lock token -> lease end (engine clock)
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle
    @property
    def clients(self) -> HubClients:
        if self._clients is None:
            raise StoreError("the Azure Storage store is not open")
        return self._clients

    async def open(self) -> None:
        """Create the hub's tables, queues and container if needed; fail fast if storage is unreachable."""
        if self._clients is not None:
            return
        try:
            clients = HubClients.from_connection_string(self._connection_string, self.counter)
        except ValueError as exc:
            raise StorageUnavailableError(f"invalid storage connection string: {_one_line(exc)}") from None
        self._clients = clients
        self._instances = clients.tables.get_table_client(keys.instances_table(self.hub))
        self._history = clients.tables.get_table_client(keys.history_table(self.hub))
        self._control = [
            clients.queues.get_queue_client(keys.control_queue(self.hub, i))
            for i in range(self.partition_count)
        ]
        self._workitems = clients.queues.get_queue_client(keys.workitem_queue(self.hub))
        container = clients.blobs.get_container_client(keys.large_messages_container(self.hub))
        self._payloads = payloads.LargePayloads(container)
        try:
            # The first call probes the account without the SDK's long retry schedule.
            await self._ensure(self._instances.create_table(retry_total=1))
            await asyncio.gather(
                self._ensure(self._history.create_table()),
                *(self._ensure(q.create_queue()) for q in [*self._control, self._workitems]),
                self._ensure(container.create_container()),
            )
        except (ServiceRequestError, HttpResponseError, OSError) as exc:
            await self.close()
            raise StorageUnavailableError(f"Azure Storage cannot be reached: {_one_line(exc)}") from None

    @staticmethod
    async def _ensure(coro: Any) -> None:
        try:
            await coro
        except ResourceExistsError:
            pass

    async def close(self) -> None:
        """Finish background writes, hand held-but-unstarted messages back to the queues, close clients."""
        await self.flush()
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        if self._clients is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._return_held(), 10)
            clients, self._clients = self._clients, None
            await clients.close()

    async def _return_held(self) -> None:
        """Make messages this process holds but has not started visible again, so that the next host
        (a restart) gets them at once instead of when their lease lapses."""
        jobs: list[Any] = []
        for instance_id, held in self._buffer.items():
            if instance_id not in self._locked:
                jobs += [
                    self._make_visible(self._queue(r.queue), r.queue_message_id, r.pop_receipt)
                    for r in held.values()
                ]
        if self._workitems is not None:
            jobs += [
                self._make_visible(self._workitems, a.queue_message_id, a.pop_receipt)
                for a in self._activities.values()
            ]
        self._buffer.clear()
        self._activities.clear()
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    @staticmethod
    async def _make_visible(queue: QueueClient, message_id: str, pop_receipt: str) -> None:
        await queue.update_message(message_id, pop_receipt=pop_receipt, visibility_timeout=0)

    @property
    def instances_table(self) -> TableClient:
        assert self._instances is not None, "store not open"
        return self._instances

    @property
    def history_table(self) -> TableClient:
        assert self._history is not None, "store not open"
        return self._history

    @property
    def large(self) -> payloads.LargePayloads:
        assert self._payloads is not None, "store not open"
        return self._payloads

    # ------------------------------------------------------------------ encoding helpers
    def _next_sequence(self) -> int:
        # 100 ns ticks since the epoch, strictly increasing in this process: orders one instance's messages.
        self._sequence = max(self._sequence + 1, time.time_ns() // 100)
        return self._sequence

    def _partition(self, instance_id: str) -> int:
        return keys.partition_index(instance_id, self.partition_count)

    async def _encode(self, message: OrchestrationMessage | ActivityMessage) -> tuple[str, int]:
        sequence = self._next_sequence()
        body = messages.dumps(messages.encode(message, sequence))
        if len(body.encode("utf-8")) <= messages.MAX_QUEUE_PAYLOAD_BYTES:
            return body, sequence
        name = messages.large_message_blob_name(message)
        await self.large.upload(name, body)
        return messages.dumps(messages.wrapper(name)), sequence

    async def _decode(self, text: str, *, activity: bool) -> messages.Envelope:
        data = json.loads(text)
        blob = data.get("CompressedBlobName")
        if blob:
            data = json.loads(await self.large.download(blob))
        return messages.decode(data, activity=activity)

    async def _send(self, send: _Send) -> None:
        """Enqueue one encoded message; delayed ones become visible at ``visible_at`` (never earlier).

        Once this process runs dispatchers, an immediately due message it sends is enqueued *invisible*
        for one lease and handed straight to its own dispatchers with the pop receipt from the send: no
        receive round trip, and if the process dies the message reappears when the lease lapses, exactly
        like a received one."""
        delay = 0
        if send.visible_at is not None:
            delay = max(0, math.ceil((send.visible_at - _now()).total_seconds()))
        queue = self._queue(send.queue)
        hold = self._dispatching and delay == 0 and send.message is not None
        visibility = self._visibility if hold else min(delay, _MAX_VISIBILITY)
        # Never expire (time_to_live -1): a timer or a message for a suspended instance may wait for weeks.
        sent = await queue.send_message(send.body, visibility_timeout=visibility or None, time_to_live=-1)
        is_work_item = send.queue == keys.workitem_queue(self.hub)
        if hold:
            receipt = str(sent.pop_receipt)
            expires = self._loop_time() + visibility
            if isinstance(send.message, ActivityMessage):
                self._activities[sent.id] = _ReceivedActivity(sent.id, receipt, send.message, expires)
            elif isinstance(send.message, OrchestrationMessage):
                held = self._buffer.setdefault(send.message.instance_id, {})
                held[sent.id] = _Received(send.queue, sent.id, receipt, send.message, send.sequence, expires)
                self._parked.discard(send.message.instance_id)
        elif is_work_item:
            self._dirty_workitems = True
        else:
            index = int(send.queue.rsplit("-", 1)[1])
            if delay:
                loop_time = asyncio.get_running_loop().time() + delay
                heapq.heappush(self._timers, (loop_time, index))
            else:
                self._dirty_control.add(index)
        self._wake.set()

    def _queue(self, name: str) -> QueueClient:
        if self._workitems is not None and name == self._workitems.queue_name:
            return self._workitems
        return self._control[int(name.rsplit("-", 1)[1])]

    async def _control_send(self, message: OrchestrationMessage) -> _Send:
        queue = keys.control_queue(self.hub, self._partition(message.instance_id))
        body, sequence = await self._encode(message)
        return _Send(queue, body, message.visible_at, message, sequence)

    async def _activity_send(self, message: ActivityMessage) -> _Send:
        body, sequence = await self._encode(message)
        return _Send(keys.workitem_queue(self.hub), body, None, message, sequence)

    # ------------------------------------------------------------------ rows
    async def _row_entity(self, record: InstanceRecord) -> dict[str, Any]:
        pk = keys.escape_partition_key(record.instance_id)
        entity = entities.instance_to_entity(record, pk, self.hub)
        for prop in ("Input", "Output"):
            text = entity.get(prop)
            if isinstance(text, str) and payloads.exceeds_table_property(text):
                # As DTFx: the Instances row holds the URL of the compressed payload.
                name = payloads.history_blob_name(pk, "", prop, prop)
                await self.large.upload(name, text)
                entity[prop] = self.large.blob_url(name)
        return entity

    async def _record_from_entity(self, entity: dict[str, Any]) -> InstanceRecord:
        entity = dict(entity)
        for prop in ("Input", "Output"):
            value = entity.get(prop)
            if isinstance(value, str):
                name = self.large.name_from_url(value)
                if name is not None:
                    entity[prop] = await self.large.download(name)
        return entities.entity_to_instance(entity, keys.unescape_partition_key(entity["PartitionKey"]))

    async def _read_row(self, instance_id: str) -> tuple[InstanceRecord | None, str | None]:
        try:
            entity = await self.instances_table.get_entity(keys.escape_partition_key(instance_id), "")
        except ResourceNotFoundError:
            return None, None
        return await self._record_from_entity(dict(entity)), entity.metadata.get("etag")

    async def _read_history(
        self, instance_id: str, execution_id: str | None
    ) -> tuple[list[HistoryEvent], dict[str, Any] | None, str | None]:
        """Events of ``execution_id`` (default: the sentinel's), the sentinel row and its ETag."""
        pk = keys.escape_partition_key(instance_id)
        params: dict[str, Any] = {"pk": pk, "sentinel": keys.SENTINEL_ROW_KEY}
        query = "PartitionKey eq @pk"
        if execution_id is not None:
            query += " and ( RowKey eq @sentinel or ExecutionId eq @eid )"
            params["eid"] = execution_id
        sentinel: dict[str, Any] | None = None
        etag: str | None = None
        rows: list[dict[str, Any]] = []
        async for entity in self.history_table.query_entities(query, parameters=params):
            if entity["RowKey"] == keys.SENTINEL_ROW_KEY:
                sentinel = dict(entity)
                etag = entity.metadata.get("etag")
            else:
                rows.append(dict(entity))
        wanted = execution_id or (sentinel or {}).get("ExecutionId")
        limit: int | None = None
        if sentinel is not None and sentinel.get("ExecutionId") == wanted and COL_EVENT_COUNT in sentinel:
            # Rows past the count belong to a checkpoint that never completed (they get overwritten).
            limit = int(sentinel[COL_EVENT_COUNT])
        events: list[HistoryEvent] = []
        for row in rows:
            key = row["RowKey"]
            if row.get("ExecutionId") != wanted:
                continue
            if limit is not None and int(key, 16) >= limit:
                continue
            for prop in payloads.VARIABLE_SIZE_PROPERTIES:
                blob = row.get(prop + "BlobName")
                if isinstance(blob, str):
                    row[prop] = await self.large.download(blob)
                    del row[prop + "BlobName"]
            events.append(entities.entity_to_event(row))
        return events, sentinel, etag

    # ------------------------------------------------------------------ client side
    async def create_instance(
        self,
        record: InstanceRecord,
        start: OrchestrationMessage,
        *,
        replaceable: Iterable[RuntimeStatus] | None,
    ) -> None:
        allowed = None if replaceable is None else set(replaceable)
        entity = await self._row_entity(record)
        created = False
        try:
            # Optimistic: a new id needs one request; an existing one is read and decided below.
            await self.instances_table.create_entity(entity)
            created = True
        except ResourceExistsError:
            for _ in range(5):
                old, etag = await self._read_row(record.instance_id)
                if old is not None and allowed is not None and old.runtime_status not in allowed:
                    raise InstanceExistsError(record.instance_id, old.runtime_status) from None
                try:
                    if old is None:
                        await self.instances_table.create_entity(entity)
                        created = True
                    else:
                        await self.instances_table.update_entity(
                            entity,
                            mode=UpdateMode.REPLACE,
                            etag=etag,
                            match_condition=MatchConditions.IfNotModified,
                        )
                    break
                except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                    continue  # raced with another writer: re-read and decide again
            else:
                raise StoreError(
                    f"instance {record.instance_id!r} kept changing while it was being created"
                ) from None
        self._forget(record.instance_id)
        if created and record.instance_id not in self._locked:
            # A brand-new instance has no history: its first episode needs no reads. (Should a stale
            # sentinel exist, the first checkpoint's conditional insert fails and the episode is redone.)
            self._cache[record.instance_id] = _InstanceState(
                record.copy(), record.execution_id, [], None, None
            )
        await self._send(await self._control_send(start))

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        await self._settled()
        record, _ = await self._read_row(instance_id)
        return record

    async def get_history(self, instance_id: str, execution_id: str | None = None) -> list[HistoryEvent]:
        await self._settled()
        if execution_id is None:
            record, _ = await self._read_row(instance_id)
            if record is None:
                return []
            execution_id = record.execution_id
        events, _, _ = await self._read_history(instance_id, execution_id)
        return events

    async def send_messages(self, messages_: Sequence[OrchestrationMessage]) -> None:
        sends = [await self._control_send(m) for m in messages_]
        await asyncio.gather(*(self._send(s) for s in sends))

    async def query_instances(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        if page_size <= 0:
            raise ValueError("page size must be positive")
        await self._settled()
        token: dict[str, Any] | None = None
        if continuation:
            try:
                if not continuation.startswith("az:"):
                    raise ValueError
                token = json.loads(base64.urlsafe_b64decode(continuation[3:].encode()).decode())
                if not isinstance(token, dict):
                    raise ValueError
            except ValueError:
                raise ValueError("invalid continuation token") from None
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if query.created_from is not None:
            clauses.append("CreatedTime ge @cfrom")
            params["cfrom"] = query.created_from
        if query.created_to is not None:
            clauses.append("CreatedTime le @cto")
            params["cto"] = query.created_to
        if query.runtime_status is not None:
            if not query.runtime_status:
                return [], None
            ors = []
            for i, status in enumerate(sorted(query.runtime_status)):
                ors.append(f"RuntimeStatus eq @s{i}")
                params[f"s{i}"] = status.name
            clauses.append("( " + " or ".join(ors) + " )")
        if query.instance_id_prefix:
            low = keys.escape_partition_key(query.instance_id_prefix)
            clauses.append("PartitionKey ge @plow and PartitionKey lt @phigh")
            params["plow"] = low
            params["phigh"] = low[:-1] + chr(ord(low[-1]) + 1)
        pager = self.instances_table.query_entities(
            " and ".join(clauses) or "RowKey eq ''", parameters=params or None, results_per_page=page_size
        ).by_page(continuation_token=token)  # type: ignore[arg-type]
        out: list[InstanceRecord] = []
        try:
            page = await pager.__anext__()
            async for entity in page:
                record = await self._record_from_entity(dict(entity))
                if query.matches(record):
                    out.append(record)
        except StopAsyncIteration:
            return out, None
        next_token = pager.continuation_token  # type: ignore[attr-defined]
        if not next_token:
            return out, None
        encoded = base64.urlsafe_b64encode(json.dumps(next_token).encode()).decode()
        return out, "az:" + encoded

    async def purge_instance(self, instance_id: str) -> int:
        pk = keys.escape_partition_key(instance_id)
        record, _ = await self._read_row(instance_id)
        if record is None:
            return 0
        await self.instances_table.delete_entity(pk, "")
        rows = [
            (e["PartitionKey"], e["RowKey"])
            async for e in self.history_table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": pk}, select=["PartitionKey", "RowKey"]
            )
        ]
        for start in range(0, len(rows), 100):
            chunk = rows[start : start + 100]
            await self.history_table.submit_transaction(
                [("delete", {"PartitionKey": p, "RowKey": r}) for p, r in chunk]
            )
        await self.large.delete_prefix(pk + "/")
        if pk != instance_id:
            await self.large.delete_prefix(instance_id + "/")
        self._forget(instance_id)
        return 1

    def _forget(self, instance_id: str) -> None:
        if instance_id not in self._locked:
            self._cache.pop(instance_id, None)
        self._parked.discard(instance_id)

    # ------------------------------------------------------------------ polling
    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def _visibility_seconds(self, lock_for: dt.timedelta) -> int:
        """Queue lease for held messages: the engine's lock, capped by ``lease_seconds`` (renewed while held),
        so that a killed host's messages come back soon after a restart."""
        return max(1, min(self.lease_seconds, math.ceil(lock_for.total_seconds())))

    def _start_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases(), name="devhost-azure-lease-renewal")

    async def _renew_leases(self) -> None:
        """Keep held messages invisible while this process holds them (activities running, messages waiting
        for their instance): renew each lease when a third of it is left."""
        while self._clients is not None:
            await asyncio.sleep(max(0.2, self._visibility / 3))
            now = self._loop_time()
            due = now + self._visibility / 3
            jobs = []
            for instance_id, held in list(self._buffer.items()):
                if instance_id in self._locked:
                    continue  # its episode deletes these messages; a lapse is deduplicated on redelivery
                jobs += [self._renew_control(r) for r in list(held.values()) if r.expires <= due]
            activities = [*self._activities.values(), *self._running.values()]
            jobs += [self._renew_activity(a) for a in activities if a.expires <= due]
            if jobs:
                await asyncio.gather(*jobs, return_exceptions=True)

    async def _renew_control(self, r: _Received) -> None:
        try:
            updated = await self._queue(r.queue).update_message(
                r.queue_message_id, pop_receipt=r.pop_receipt, visibility_timeout=self._visibility
            )
        except (ResourceNotFoundError, HttpResponseError):
            return  # already deleted, or re-received with a newer receipt
        r.pop_receipt = str(updated.pop_receipt)
        r.expires = self._loop_time() + self._visibility

    async def _renew_activity(self, a: _ReceivedActivity) -> None:
        assert self._workitems is not None
        async with a.lock:
            try:
                updated = await self._workitems.update_message(
                    a.queue_message_id, pop_receipt=a.pop_receipt, visibility_timeout=self._visibility
                )
            except (ResourceNotFoundError, HttpResponseError):
                return
            a.pop_receipt = str(updated.pop_receipt)
            a.expires = self._loop_time() + self._visibility

    async def _poll_control(self, lock_for: dt.timedelta) -> None:
        if self._polling_control:
            return
        now = self._loop_time()
        targets = set(self._dirty_control)
        while self._timers and self._timers[0][0] <= now:
            targets.add(heapq.heappop(self._timers)[1])
        full = now >= self._control_due
        if full:
            targets = set(range(self.partition_count))
        if not targets:
            return
        self._dirty_control -= targets
        self._polling_control = True
        try:
            vt = self._visibility_seconds(lock_for)
            counts = await asyncio.gather(*(self._receive_control(i, vt) for i in sorted(targets)))
        finally:
            self._polling_control = False
        if full:
            # Only full polls steer the back-off: the partitions this process wrote to are read anyway.
            got = sum(counts)
            self._control_backoff = (
                _MIN_POLL if got else min(self.max_polling_interval, self._control_backoff * 2)
            )
            self._control_due = self._loop_time() + self._control_backoff

    async def _receive_control(self, index: int, visibility: int) -> int:
        queue = self._control[index]
        pages = queue.receive_messages(
            messages_per_page=_RECEIVE_BATCH, visibility_timeout=visibility
        ).by_page()
        try:
            page = await pages.__anext__()
            received = [m async for m in page]
        except StopAsyncIteration:
            return 0
        if len(received) >= _RECEIVE_BATCH:
            self._dirty_control.add(index)  # there may be more right away
        expires = self._loop_time() + visibility
        for qm in received:
            try:
                envelope = await self._decode(str(qm.content), activity=False)
            except _UNREADABLE as exc:  # a foreign or corrupt message must not stop the hub
                log.warning(
                    "dropping unreadable message %s in %s: %s", qm.id, queue.queue_name, _one_line(exc)
                )
                with contextlib.suppress(ResourceNotFoundError):
                    await queue.delete_message(qm.id, qm.pop_receipt)
                continue
            except (HttpResponseError, ServiceRequestError) as exc:
                log.warning(
                    "could not read message %s (%s); it returns after its lease", qm.id, _one_line(exc)
                )
                continue
            message = envelope.message
            assert isinstance(message, OrchestrationMessage)
            held = self._buffer.setdefault(message.instance_id, {})
            held[qm.id] = _Received(
                queue.queue_name, qm.id, str(qm.pop_receipt), message, envelope.sequence_number, expires
            )
            self._parked.discard(message.instance_id)
        return len(received)

    async def _poll_workitems(self, lock_for: dt.timedelta) -> None:
        if self._polling_work or self._workitems is None:
            return
        now = self._loop_time()
        full = now >= self._work_due
        if not (full or self._dirty_workitems):
            return
        self._dirty_workitems = False
        self._polling_work = True
        try:
            queue = self._workitems
            vt = self._visibility_seconds(lock_for)
            pages = queue.receive_messages(messages_per_page=_RECEIVE_BATCH, visibility_timeout=vt).by_page()
            try:
                page = await pages.__anext__()
                received = [m async for m in page]
            except StopAsyncIteration:
                received = []
        finally:
            self._polling_work = False
        if len(received) >= _RECEIVE_BATCH:
            self._dirty_workitems = True
        if full:
            self._work_backoff = (
                _MIN_POLL if received else min(self.max_polling_interval, self._work_backoff * 2)
            )
            self._work_due = self._loop_time() + self._work_backoff
        for qm in received:
            running = next((r for r in self._running.values() if r.queue_message_id == qm.id), None)
            if running is not None:
                # Its lease lapsed while it ran: keep the newest receipt.
                running.pop_receipt = str(qm.pop_receipt)
                running.expires = self._loop_time() + vt
                continue
            try:
                envelope = await self._decode(str(qm.content), activity=True)
            except _UNREADABLE as exc:
                log.warning("dropping unreadable work item %s: %s", qm.id, _one_line(exc))
                with contextlib.suppress(ResourceNotFoundError):
                    await queue.delete_message(qm.id, qm.pop_receipt)
                continue
            except (HttpResponseError, ServiceRequestError) as exc:
                log.warning(
                    "could not read work item %s (%s); it returns after its lease", qm.id, _one_line(exc)
                )
                continue
            assert isinstance(envelope.message, ActivityMessage)
            self._activities[qm.id] = _ReceivedActivity(
                qm.id, str(qm.pop_receipt), envelope.message, self._loop_time() + vt
            )

    # ------------------------------------------------------------------ worker side: orchestrations
    async def _state(self, instance_id: str) -> _InstanceState:
        state = self._cache.get(instance_id)
        if state is not None:
            self._cache.move_to_end(instance_id)
            return state
        record, _ = await self._read_row(instance_id)
        execution_id = record.execution_id if record is not None else None
        history, sentinel, etag = await self._read_history(instance_id, execution_id)
        state = _InstanceState(record, execution_id, history, sentinel, etag)
        if sentinel is not None:
            if sentinel.get("ExecutionId") != execution_id:
                # A new execution (restart/replace) has not checkpointed yet: the sentinel's journal
                # belongs to the old one and has been applied, or it would not have been replaced.
                state.recent = json.loads(sentinel.get(COL_RECENT) or "[]")
            else:
                state.last_consumed = json.loads(sentinel.get(COL_CONSUMED) or "[]")
                state.recent = json.loads(sentinel.get(COL_RECENT) or "[]")
                state.journal = await self._load_journal(sentinel)
        self._cache[instance_id] = state
        while len(self._cache) > _CACHE_SIZE:
            oldest = next(iter(self._cache))
            if oldest in self._locked:
                self._cache.move_to_end(oldest)
                break
            self._cache.popitem(last=False)
        return state

    async def _load_journal(self, sentinel: dict[str, Any]) -> dict[str, Any] | None:
        blob = sentinel.get(COL_JOURNAL_BLOB)
        text = (
            await self.large.download(blob) if isinstance(blob, str) and blob else sentinel.get(COL_JOURNAL)
        )
        if not text:
            return None
        journal = json.loads(text)
        return journal if isinstance(journal, dict) else None

    async def lock_next_orchestration(
        self, now: dt.datetime, lock_for: dt.timedelta
    ) -> OrchestrationWorkItem | None:
        self._dispatching = True
        self._visibility = self._visibility_seconds(lock_for)
        self._start_renewer()
        await self._poll_control(lock_for)
        item = await self._try_lock(now, lock_for)
        if item is None and self._finishing:
            # Nothing else to do: let checkpoint tails land (they may release an instance with waiting
            # messages, or hand this process new messages), then look once more.
            busy = [i for i in self._finishing if self._buffer.get(i)]
            if busy:
                await self._settled_many(busy)
            else:
                await self._effects_settled()
            item = await self._try_lock(now, lock_for)
        return item

    async def _try_lock(self, now: dt.datetime, lock_for: dt.timedelta) -> OrchestrationWorkItem | None:
        for instance_id in list(self._buffer):
            if instance_id in self._parked:
                continue
            if instance_id in self._locked:
                # A lease taken by this process lapses by the engine's clock (the holder is presumed dead).
                if instance_id in self._finishing or now < self._lock_until.get(instance_id, now):
                    continue
                log.warning("lease on %s expired; handing its messages to a new episode", instance_id)
                self._release(instance_id)
            held = self._buffer.get(instance_id)
            if not held:
                self._buffer.pop(instance_id, None)
                continue
            visible = [
                r for r in held.values() if r.message.visible_at is None or r.message.visible_at <= now
            ]
            if not visible:
                continue
            token = uuid.uuid4().hex
            self._locked[instance_id] = token
            self._lock_until[instance_id] = now + lock_for
            try:
                state = await self._state(instance_id)
                visible = await self._drop_applied(instance_id, state, visible)
                if not visible:
                    self._release(instance_id)
                    continue
                record = state.record
                if (
                    record is not None
                    and record.runtime_status is RuntimeStatus.Suspended
                    and not any(r.message.event["EventType"] in _WAKE_TYPES for r in visible)
                ):
                    self._parked.add(instance_id)
                    self._release(instance_id)
                    continue
            except BaseException:
                self._release(instance_id)
                self._cache.pop(instance_id, None)
                raise
            visible.sort(key=lambda r: r.sequence)
            self._handed_out[instance_id] = [r.queue_message_id for r in visible]
            self._buffer.move_to_end(instance_id)
            return OrchestrationWorkItem(
                instance_id=instance_id,
                messages=[r.message for r in visible],
                instance=record.copy() if record is not None else None,
                history=tuple(state.history),
                lock_token=token,
                locked_until=now + lock_for,
            )
        return None

    def _release(self, instance_id: str) -> None:
        self._locked.pop(instance_id, None)
        self._lock_until.pop(instance_id, None)
        self._handed_out.pop(instance_id, None)

    async def _drop_applied(
        self, instance_id: str, state: _InstanceState, visible: list[_Received]
    ) -> list[_Received]:
        """Split off messages whose effects are already stored (redelivery after a crash or a lapsed lease),
        re-apply the last checkpoint's journal if one of them was consumed by it, and delete them."""
        visible = sorted(visible, key=lambda r: r.sequence)
        history = state.history
        completed = {e.get("TaskScheduledId") for e in history if e["EventType"] in (5, 6)}
        sub_completed = {e.get("TaskScheduledId") for e in history if e["EventType"] in (8, 9)}
        fired = {e.get("TimerId") for e in history if e["EventType"] == 11}
        started = any(e["EventType"] == 0 for e in history)
        last = set(state.last_consumed)
        recent = set(state.recent)
        seen: set[str] = set()
        keep: list[_Received] = []
        applied: list[_Received] = []
        replay = False
        for r in visible:
            m = r.message
            ev = m.event
            etype = ev["EventType"]
            current = m.execution_id is None or m.execution_id == state.execution_id
            duplicate = m.message_id in seen or m.message_id in recent
            if m.message_id in last:
                duplicate = replay = True
            elif current and etype in (5, 6):
                duplicate = duplicate or ev.get("TaskScheduledId") in completed
                completed.add(ev.get("TaskScheduledId"))
            elif current and etype in (8, 9):
                duplicate = duplicate or ev.get("TaskScheduledId") in sub_completed
                sub_completed.add(ev.get("TaskScheduledId"))
            elif current and etype == 11:
                duplicate = duplicate or ev.get("TimerId") in fired
                fired.add(ev.get("TimerId"))
            elif etype == 0 and m.execution_id is not None and m.execution_id == state.execution_id:
                duplicate = duplicate or started
                started = True
            seen.add(m.message_id)
            (applied if duplicate else keep).append(r)
        if replay and state.journal is not None:
            log.info("re-applying the last checkpoint of %s after a redelivery", instance_id)
            await self._apply_journal(state, state.journal)
            state.journal = None
        if applied:
            await self._delete_received(instance_id, applied)
        return keep

    async def _delete_received(self, instance_id: str, done: list[_Received]) -> None:
        async def delete(r: _Received) -> None:
            try:
                await self._queue(r.queue).delete_message(r.queue_message_id, r.pop_receipt)
            except ResourceNotFoundError:
                pass  # lease lapsed and the message was received again: the newer copy is dropped later

        await asyncio.gather(*(delete(r) for r in done))
        held = self._buffer.get(instance_id)
        if held is not None:
            for r in done:
                current = held.get(r.queue_message_id)
                if current is not None and current.pop_receipt == r.pop_receipt:
                    del held[r.queue_message_id]
            if not held:
                del self._buffer[instance_id]

    def _check_lock(self, item: OrchestrationWorkItem) -> None:
        if self._locked.get(item.instance_id) != item.lock_token:
            raise LockLostError(f"lock on instance {item.instance_id!r} was lost")

    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        self._check_lock(item)
        iid = item.instance_id
        state = self._cache.get(iid) or await self._state(iid)
        nothing = not (commit.instance or commit.messages or commit.activities or commit.new_instances)
        if nothing and not any(events for _, events in commit.history):
            # Only stale messages were consumed: there is no effect to make durable first.
            held = self._buffer.get(iid, {})
            await self._delete_received(iid, [held[q] for q in self._handed_out.get(iid, []) if q in held])
            self._release(iid)
            return
        try:
            sends = [await self._control_send(m) for m in commit.messages]
            sends += [await self._activity_send(a) for a in commit.activities]
            journal = {
                "instance": _record_json(commit.instance),
                "newInstances": [_record_json(r) for r in commit.new_instances],
                "sends": [
                    [s.queue, s.body, format_ts(s.visible_at) if s.visible_at else None] for s in sends
                ],
            }
            consumed = [m.message_id for m in item.messages]
            await self._write_history(state, iid, commit, journal, consumed)
        except BaseException:
            # Nothing or only history landed: the journal is re-applied when the messages come back.
            self._cache.pop(iid, None)
            self._release(iid)
            raise
        # The episode is durable now. Its other effects and the deletes finish in the background while the
        # instance stays locked, so the dispatcher can start the next instance's episode at once.
        if commit.instance is not None:
            state.record = commit.instance.copy()
        handed = list(self._handed_out.get(iid, []))
        self._effects[iid] = asyncio.Event()
        task = asyncio.create_task(self._finish(iid, state, journal, sends, handed, item.lock_token))
        self._finishing[iid] = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish(
        self,
        iid: str,
        state: _InstanceState,
        journal: dict[str, Any],
        sends: list[_Send],
        handed: list[str],
        token: str,
    ) -> None:
        try:
            try:
                await self._apply_journal(state, journal, sends)
            finally:
                effects = self._effects.pop(iid, None)
                if effects is not None:
                    effects.set()
            state.journal = None
            held = self._buffer.get(iid, {})
            await self._delete_received(iid, [held[q] for q in handed if q in held])
        except Exception as exc:  # noqa: BLE001 - recovered from the journal when the messages return
            log.warning(
                "checkpoint of %s not finished (%s); it is re-applied on redelivery", iid, _one_line(exc)
            )
            self._cache.pop(iid, None)
        finally:
            self._finishing.pop(iid, None)
            if self._locked.get(iid) == token:
                self._release(iid)
            self._wake.set()

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

    async def _write_history(
        self,
        state: _InstanceState,
        iid: str,
        commit: EpisodeCommit,
        journal: dict[str, Any],
        consumed: list[str],
    ) -> None:
        pk = keys.escape_partition_key(iid)
        counts: dict[str | None, int] = {state.execution_id: len(state.history)}
        rows: OrderedDict[str, dict[str, Any]] = OrderedDict()
        appended: dict[str, list[HistoryEvent]] = {}
        for execution_id, events in commit.history:
            for event in events:
                index = counts.get(execution_id, 0)
                counts[execution_id] = index + 1
                row_key = keys.history_row_key(index)
                entity = entities.event_to_entity(event, pk, row_key, execution_id)
                await self._spill_large(entity)
                rows.pop(row_key, None)  # a new execution overwrites the old one's rows, as in DTFx
                rows[row_key] = entity
                appended.setdefault(execution_id, []).append(event)
        final_execution = state.execution_id
        if commit.instance is not None:
            final_execution = commit.instance.execution_id
        elif commit.history:
            final_execution = commit.history[-1][0]
        recent = (consumed + state.recent)[:_RECENT_IDS]
        journal_text = json.dumps(journal, separators=(",", ":"), ensure_ascii=False)
        sentinel: dict[str, Any] = {
            "PartitionKey": pk,
            "RowKey": keys.SENTINEL_ROW_KEY,
            "ExecutionId": final_execution or "",
            "IsCheckpointComplete": True,
            "CheckpointCompletedTimestamp": _now(),
            COL_EVENT_COUNT: counts.get(final_execution, 0),
            COL_CONSUMED: json.dumps(consumed),
            COL_RECENT: json.dumps(recent),
        }
        if payloads.exceeds_table_property(journal_text):
            name = f"{pk}/checkpoint-{random.getrandbits(31):08X}.json.gz"
            await self.large.upload(name, journal_text)
            sentinel[COL_JOURNAL_BLOB] = name
        else:
            sentinel[COL_JOURNAL] = journal_text
        row_list = list(rows.values())
        etag = state.sentinel_etag
        previous = dict(state.sentinel) if state.sentinel is not None else None
        chunks = _batches(row_list)
        for n, chunk in enumerate(chunks):
            final = n == len(chunks) - 1
            if final:
                marker = sentinel
            else:
                # Until the last batch lands, readers keep seeing the previous checkpoint.
                marker = {k: v for k, v in (previous or sentinel).items() if not k.startswith("odata")}
                marker.update(
                    {"PartitionKey": pk, "RowKey": keys.SENTINEL_ROW_KEY, "IsCheckpointComplete": False}
                )
                if previous is None:
                    marker[COL_EVENT_COUNT] = 0
                    marker.pop(COL_JOURNAL, None)
                    marker.pop(COL_JOURNAL_BLOB, None)
                    marker[COL_CONSUMED] = "[]"
            ops: list[Any] = [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in chunk]
            if etag is None:
                ops.append(("create", marker))
            else:
                ops.append(
                    (
                        "update",
                        marker,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": etag,
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                )
            try:
                result = await self.history_table.submit_transaction(ops)
            except TableTransactionError as exc:
                if exc.status_code in (409, 412):
                    raise LockLostError(f"history of {iid!r} was changed by another host") from None
                raise
            etag = result[-1].get("etag")
            if etag is None:
                raise StoreError("table transaction returned no ETag for the sentinel row")
        old_journal_blob = (previous or {}).get(COL_JOURNAL_BLOB)
        state.sentinel = sentinel
        state.sentinel_etag = etag
        state.last_consumed = consumed
        state.recent = recent
        if final_execution == state.execution_id:
            state.history = state.history + appended.get(final_execution or "", [])
        else:
            state.history = list(appended.get(final_execution or "", []))
            state.execution_id = final_execution
        if isinstance(old_journal_blob, str) and old_journal_blob:
            with contextlib.suppress(ResourceNotFoundError):
                await self.large._container.delete_blob(old_journal_blob)  # noqa: SLF001

    async def _spill_large(self, entity: dict[str, Any]) -> None:
        for prop in payloads.VARIABLE_SIZE_PROPERTIES:
            value = entity.get(prop)
            if isinstance(value, str) and payloads.exceeds_table_property(value):
                name = payloads.history_blob_name(
                    entity["PartitionKey"], entity["RowKey"], entity["EventType"], prop
                )
                await self.large.upload(name, value)
                entity[prop] = ""
                entity[prop + "BlobName"] = name

    async def _apply_journal(
        self, state: _InstanceState, journal: dict[str, Any], sends: list[_Send] | None = None
    ) -> None:
        """Write an episode's non-history effects: instance row, sub-orchestration rows, then messages.
        Idempotent, so that it can run again after a crash."""
        record = _record_from_json(journal.get("instance"))
        writes: list[Any] = []
        if record is not None:
            writes.append(self._update_row(record))
            state.record = record
        for raw in journal.get("newInstances") or []:
            child = _record_from_json(raw)
            if child is not None:
                writes.append(self._create_child_row(child))
        await asyncio.gather(*writes)
        if sends is None:
            sends = [
                _Send(queue, body, parse_ts(visible) if visible else None)
                for queue, body, visible in journal.get("sends") or []
            ]
        await asyncio.gather(*(self._send(s) for s in sends))

    async def _update_row(self, record: InstanceRecord) -> None:
        entity = await self._row_entity(record)
        try:
            await self.instances_table.update_entity(entity, mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            log.info("instance %s was purged while it ran; its row is not recreated", record.instance_id)

    async def _create_child_row(self, record: InstanceRecord) -> None:
        entity = await self._row_entity(record)
        for _ in range(5):
            old, etag = await self._read_row(record.instance_id)
            if old is not None and old.runtime_status not in TERMINAL_STATUSES:
                return
            if old is not None and old.execution_id == record.execution_id:
                return
            try:
                if old is None:
                    await self.instances_table.create_entity(entity)
                else:
                    await self.instances_table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                self._forget(record.instance_id)
                return
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                continue

    async def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        if self._locked.get(item.instance_id) == item.lock_token:
            self._release(item.instance_id)
            self._wake.set()

    # ------------------------------------------------------------------ worker side: activities
    async def lock_next_activity(self, now: dt.datetime, lock_for: dt.timedelta) -> ActivityWorkItem | None:
        self._dispatching = True
        self._visibility = self._visibility_seconds(lock_for)
        self._start_renewer()
        if not self._activities and self._effects:
            await self._effects_settled()  # a checkpoint tail may be about to hand us an activity
        if not self._activities:
            self._take_over_expired_activities(now)
        if not self._activities:
            await self._poll_workitems(lock_for)
        if not self._activities:
            return None
        _, received = self._activities.popitem(last=False)
        token = uuid.uuid4().hex
        self._running[token] = received
        self._activity_until[token] = now + lock_for
        return ActivityWorkItem(received.message, token, now + lock_for)

    def _take_over_expired_activities(self, now: dt.datetime) -> None:
        """An activity lease taken by this process lapses by the engine's clock: deliver it again."""
        for token, until in list(self._activity_until.items()):
            if until <= now:
                received = self._running.pop(token, None)
                del self._activity_until[token]
                if received is not None:
                    log.warning(
                        "lease on work item %s expired; delivering it again", received.queue_message_id
                    )
                    self._activities[received.queue_message_id] = received

    async def complete_activity(self, item: ActivityWorkItem, response: OrchestrationMessage | None) -> None:
        received = self._running.get(item.lock_token)
        if received is None:
            raise LockLostError(f"lock on activity message {item.message.message_id} was lost")
        try:
            if response is not None:
                await self._send(await self._control_send(response))
        except BaseException:
            self._running.pop(item.lock_token, None)
            self._activity_until.pop(item.lock_token, None)
            self._activities[received.queue_message_id] = received  # deliver again
            raise
        self._running.pop(item.lock_token, None)
        self._activity_until.pop(item.lock_token, None)
        # The response is stored; the work item's delete does not hold up the caller.
        task = asyncio.create_task(self._delete_work_item(received))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete_work_item(self, received: _ReceivedActivity) -> None:
        assert self._workitems is not None
        try:
            async with received.lock:
                await self._workitems.delete_message(received.queue_message_id, received.pop_receipt)
        except ResourceNotFoundError:
            pass  # its lease lapsed: the duplicate response it may cause is dropped by the orchestration
        except Exception as exc:  # noqa: BLE001 - it comes back after its lease; its response is deduplicated
            log.warning("could not delete work item %s: %s", received.queue_message_id, _one_line(exc))

    async def abandon_activity(self, item: ActivityWorkItem) -> None:
        received = self._running.pop(item.lock_token, None)
        self._activity_until.pop(item.lock_token, None)
        if received is not None:
            self._activities[received.queue_message_id] = received
            self._wake.set()

    # ------------------------------------------------------------------ waiting
    def _has_ready_work(self) -> bool:
        """Work a dispatcher could take right now. Held activity messages do not count: a dispatcher that
        waits has refused them (all its activity slots are busy); a finishing activity wakes it."""
        if self._dirty_workitems or self._dirty_control:
            return True
        now = _now()
        return any(
            r.message.visible_at is None or r.message.visible_at <= now
            for i, held in self._buffer.items()
            if i not in self._locked and i not in self._parked
            for r in held.values()
        )

    async def next_visible_time(self, *, activities: bool = True) -> dt.datetime | None:
        """Earliest delivery time among held messages of unlocked instances (the engine sleeps until then);
        the minimum time while activity messages are held and wanted (the contract: work is pending)."""
        await self._settled()
        if activities and self._activities:
            return _MIN
        best: dt.datetime | None = None
        for instance_id, held in self._buffer.items():
            if instance_id in self._locked or instance_id in self._parked:
                continue
            for r in held.values():
                t = r.message.visible_at or _MIN
                if best is None or t < best:
                    best = t
        return best

    async def wait_for_work(self, timeout: float) -> None:
        """Return when this process enqueued work, a local timer is due, or the next queue poll is due."""
        if self._has_ready_work():
            await asyncio.sleep(0)  # always yield: background checkpoint tails must be able to run
            return
        if timeout <= 0 and self._activities:
            # Held activities the caller did not take (its slots are busy): a finishing activity wakes us.
            timeout = 0.005
        now = self._loop_time()
        deadline = min(self._control_due, self._work_due)
        if self._timers:
            deadline = min(deadline, self._timers[0][0])
        # A due poll is the caller's next lock_next_* call; the floor keeps a caller that never polls that
        # queue from spinning.
        wait = max(0.005, min(timeout, deadline - now)) if timeout > 0 else 0.0
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
        else:
            await asyncio.sleep(0)
        self._wake.clear()

    # ------------------------------------------------------------------ introspection for tests and bench
    def held_message_count(self) -> int:
        return sum(len(v) for v in self._buffer.values()) + len(self._activities)


def _estimated_bytes(entity: dict[str, Any]) -> int:
    """DTFx's estimate of a row's size in a transaction: 1 KB plus its strings in UTF-16."""
    return 1024 + sum(2 * len(v) for v in entity.values() if isinstance(v, str))


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split history rows into transactions of at most 99 rows and ~3 MB (the sentinel is added to each),
    as DTFx does; the table service caps a transaction at 100 operations and 4 MB."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in rows:
        n = _estimated_bytes(row)
        if out[-1] and (len(out[-1]) >= _MAX_BATCH_ROWS or size + n > _MAX_BATCH_BYTES):
            out.append([])
            size = 0
        out[-1].append(row)
        size += n
    return out


def _record_json(record: InstanceRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    out: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if isinstance(value, dt.datetime):
            out[key] = format_ts(value)
        elif isinstance(value, RuntimeStatus):
            out[key] = value.name
        else:
            out[key] = value
    return out


def _record_from_json(data: Any) -> InstanceRecord | None:
    if not isinstance(data, dict):
        return None
    values = dict(data)
    for key in ("created_time", "last_updated_time", "completed_time", "scheduled_start_time"):
        if values.get(key):
            values[key] = parse_ts(values[key])
    values["runtime_status"] = RuntimeStatus[values["runtime_status"]]
    return InstanceRecord(**values)
