"""The crash-safe checkpoint journal: how an episode's effects become durable exactly once.

An episode consumes queue messages and produces effects: new history events, the instance row, rows of
new sub-orchestrations and outbound messages. Azure Storage has no transaction spanning tables and queues,
so a checkpoint is written in three steps, and the first one makes the episode durable:

1. **One table transaction** in the instance's History partition writes the new history rows *and* the
   sentinel row (RowKey ``sentinel``). Beside DTFx's own columns the sentinel carries:
   ``DevhostEventCount`` (events of the execution: rows past it are leftovers of a checkpoint that never
   completed, ignored by readers and overwritten by the next one), ``DevhostConsumed`` (ids of the messages
   this episode consumed), ``DevhostRecentMessages`` (ids of the last 100 consumed) and the **journal**
   (``DevhostJournal``, or a blob named in ``DevhostJournalBlobName`` when large): the instance row, the new
   child rows and every outbound message exactly as encoded for its queue.
   The sentinel is written only if its ETag is the one this process read (created only if absent), so two
   hosts cannot both extend one history: the loser gets ``LockLostError`` and its episode is redone. History
   too large for one transaction (100 operations / ~4 MB) goes in several; every batch but the last writes
   the *previous* sentinel marked incomplete, so readers see the previous checkpoint until the last lands.
2. **Apply the journal**: create child rows (only if absent or finished), send the messages, and last
   replace the instance row — so a row that shows the checkpoint proves the messages were sent (``applied``).
   Each write is idempotent or deduplicated by its receiver, so it may run twice.
3. **Delete** the consumed messages from their queues (``receiver.py``).

A crash between any two steps leaves the consumed messages in their queues; they come back after their
lease. ``split_redelivered`` then recognises each one before the engine sees it: its id is in the
sentinel's consumed list (the last checkpoint consumed it: the journal is applied again, i.e. step 2 is
redone, then step 3), or in the recent list, or its effect is already in history (a completion of a task or
sub-orchestration already completed, a timer already fired, the start of an execution already started).
Recognised messages are deleted, not replayed. A journal read cold whose row does not show it (a crash cut
step 2 short) is applied before the instance's next episode even if none of its messages is back yet,
because a newer message may come first — a cancel raised right after a restart — and its checkpoint replaces
the journal (``store.py``, ``_drop_redelivered``); a journal whose row shows it is never applied again, so
a finished checkpoint's activity work is not sent twice. A checkpoint that
moved the instance to a new execution (continue-as-new: every entity batch) and died before its row was
replaced is recognised by the journal's ``from`` execution and applied when the instance is read
(``load``), instead of being taken for a restart. So history never holds an event twice and no outbound
message is lost: at worst one is sent twice, and its receiver recognises it the same way. A crash before
step 1 leaves nothing behind; the messages come back and the episode runs again.

``instances.py`` reads the rows this module writes; the store (``store.py``) decides when to write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from azure.data.tables.aio import TableClient

from devhost.history import EventType, HistoryEvent, RuntimeStatus, format_ts, parse_ts
from devhost.store.azure import batch, entities, keys, payloads
from devhost.store.azure.instances import ChildRow, InstanceTable
from devhost.store.azure.receiver import Outgoing, Received
from devhost.store.base import EpisodeCommit, InstanceRecord, LockLostError, StoreError

log = logging.getLogger("devhost.store.azure")

_MAX_BATCH_ROWS = 99  # + the sentinel = 100 operations, the table transaction limit
_MAX_BATCH_BYTES = 3 * 1024 * 1024  # DTFx starts a new transaction beyond ~3 MB (the limit is 4 MB)
_RECENT_IDS = 100  # message ids remembered in the sentinel to drop late duplicates
_TASK_DONE = (EventType.TaskCompleted, EventType.TaskFailed)
_CHILD_DONE = (EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed)


@dataclass
class InstanceState:
    """What this process knows of one instance's row and its current execution's history."""

    record: InstanceRecord | None
    execution_id: str | None
    history: list[HistoryEvent]
    sentinel: dict[str, Any] | None  # the sentinel row as read/written (None: no row yet)
    sentinel_etag: str | None
    journal: dict[str, Any] | None = None  # effects of the last checkpoint (only after a cold read)
    last_consumed: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)


def split_redelivered(
    state: InstanceState, visible: list[Received]
) -> tuple[list[Received], list[Received], bool]:
    """Split messages into new ones and ones whose effects are already stored (redelivered after a crash or
    a lapsed lease, or sent twice); the flag says one was consumed by the last checkpoint, whose journal
    must then be applied again."""
    visible = sorted(visible, key=lambda r: r.sequence)
    history = state.history
    completed = {e.get("TaskScheduledId") for e in history if e["EventType"] in _TASK_DONE}
    sub_completed = {e.get("TaskScheduledId") for e in history if e["EventType"] in _CHILD_DONE}
    fired = {e.get("TimerId") for e in history if e["EventType"] == EventType.TimerFired}
    started = any(e["EventType"] == EventType.ExecutionStarted for e in history)
    last = set(state.last_consumed)
    recent = set(state.recent)
    seen: set[str] = set()
    keep: list[Received] = []
    applied: list[Received] = []
    replay = False
    for r in visible:
        m = r.message
        ev = m.event
        etype = ev["EventType"]
        current = m.execution_id is None or m.execution_id == state.execution_id
        duplicate = m.message_id in seen or m.message_id in recent
        if m.message_id in last:
            duplicate = replay = True
        elif current and etype in _TASK_DONE:
            duplicate = duplicate or ev.get("TaskScheduledId") in completed
            completed.add(ev.get("TaskScheduledId"))
        elif current and etype in _CHILD_DONE:
            duplicate = duplicate or ev.get("TaskScheduledId") in sub_completed
            sub_completed.add(ev.get("TaskScheduledId"))
        elif current and etype == EventType.TimerFired:
            duplicate = duplicate or ev.get("TimerId") in fired
            fired.add(ev.get("TimerId"))
        elif (
            etype == EventType.ExecutionStarted
            and m.execution_id is not None
            and m.execution_id == state.execution_id
        ):
            duplicate = duplicate or started
            started = True
        seen.add(m.message_id)
        (applied if duplicate else keep).append(r)
    return keep, applied, replay


def journal_of(commit: EpisodeCommit, sends: list[Outgoing]) -> dict[str, Any]:
    """The journal of one episode: its effects other than history, as stored in the sentinel."""
    return {
        # The execution the episode started from: tells a continue-as-new whose journal was never applied
        # (the row still names this execution) from a restart that replaced the row (``load``).
        "from": commit.history[0][0] if commit.history else None,
        "instance": _record_json(commit.instance),
        "newInstances": [_record_json(r) for r in commit.new_instances],
        "sends": [[s.queue, s.body, format_ts(s.visible_at) if s.visible_at else None] for s in sends],
    }


class Journal:
    """Writes checkpoints into the History table and applies their journals."""

    def __init__(
        self,
        history: TableClient,
        rows: InstanceTable,
        large: payloads.LargePayloads,
        send: Callable[[Outgoing], Awaitable[None]],
        forget: Callable[[str], None],
        born: Callable[[InstanceRecord], None],
    ) -> None:
        self.history = history
        self.rows = rows
        self.large = large
        self._send = send
        self._forget = forget  # a sub-orchestration row was replaced: drop what this process knew of it
        self._born = born  # a sub-orchestration row was created where none was: it has no history yet

    async def load(self, instance_id: str) -> InstanceState:
        """Read an instance's row, history and sentinel (a cold start, or after a failed checkpoint)."""
        record, _ = await self.rows.read(instance_id)
        execution_id = record.execution_id if record is not None else None
        history, sentinel, etag = await self.rows.read_history(instance_id, execution_id)
        state = InstanceState(record, execution_id, history, sentinel, etag)
        if sentinel is not None:
            if sentinel.get("ExecutionId") != execution_id:
                successor = await self._unapplied_successor(sentinel, record)
                if successor is not None:
                    # The last checkpoint moved to a new execution (continue-as-new; every entity batch
                    # does) and died before its journal replaced the row: apply it now, so the row,
                    # history and state agree; its consumed messages are then dropped when they return.
                    log.info("applying the unfinished checkpoint of %s before its next episode", instance_id)
                    await self.apply(state, successor)
                    assert state.record is not None
                    state.execution_id = state.record.execution_id
                    history, sentinel, etag = await self.rows.read_history(instance_id, state.execution_id)
                    state.history, state.sentinel, state.sentinel_etag = history, sentinel, etag
                    if sentinel is not None:
                        state.last_consumed = json.loads(sentinel.get(keys.COL_CONSUMED) or "[]")
                        state.recent = json.loads(sentinel.get(keys.COL_RECENT) or "[]")
                    return state
                # A new execution (restart/replace) has not checkpointed yet: the sentinel's journal
                # belongs to the old one and has been applied, or it would not have been replaced.
                state.recent = json.loads(sentinel.get(keys.COL_RECENT) or "[]")
            else:
                state.last_consumed = json.loads(sentinel.get(keys.COL_CONSUMED) or "[]")
                state.recent = json.loads(sentinel.get(keys.COL_RECENT) or "[]")
                state.journal = await self._read_journal(sentinel)
        return state

    async def _unapplied_successor(
        self, sentinel: dict[str, Any], record: InstanceRecord | None
    ) -> dict[str, Any] | None:
        """The sentinel's journal if it moves the row on to the sentinel's execution and was never applied:
        it started from the execution the row still names, or it creates the row that does not exist yet."""
        journal = await self._read_journal(sentinel)
        target = _record_from_json((journal or {}).get("instance"))
        if journal is None or target is None or target.execution_id != sentinel.get("ExecutionId"):
            return None
        if record is not None:
            return journal if journal.get("from") == record.execution_id else None
        # No row: only a checkpoint that creates its own row (an entity's first batch) may bring it; a row
        # purged meanwhile stays purged.
        created = [_record_from_json(r) for r in journal.get("newInstances") or []]
        own = any(c is not None and c.instance_id == target.instance_id for c in created)
        return journal if own else None

    async def _read_journal(self, sentinel: dict[str, Any]) -> dict[str, Any] | None:
        blob = sentinel.get(keys.COL_JOURNAL_BLOB)
        text = (
            await self.large.download(blob)
            if isinstance(blob, str) and blob
            else sentinel.get(keys.COL_JOURNAL)
        )
        if not text:
            return None
        journal = json.loads(text)
        return journal if isinstance(journal, dict) else None

    # ------------------------------------------------------------------ step 1: history + sentinel
    async def write(
        self,
        state: InstanceState,
        iid: str,
        commit: EpisodeCommit,
        journal: dict[str, Any],
        consumed: list[str],
    ) -> None:
        """Write the episode's history rows and the sentinel with its journal; ``state`` follows."""
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
            "CheckpointCompletedTimestamp": dt.datetime.now(dt.UTC),
            keys.COL_EVENT_COUNT: counts.get(final_execution, 0),
            keys.COL_CONSUMED: json.dumps(consumed),
            keys.COL_RECENT: json.dumps(recent),
        }
        if payloads.exceeds_table_property(journal_text):
            name = f"{pk}/checkpoint-{random.getrandbits(31):08X}.json.gz"
            await self.large.upload(name, journal_text)
            sentinel[keys.COL_JOURNAL_BLOB] = name
        else:
            sentinel[keys.COL_JOURNAL] = journal_text
        previous = dict(state.sentinel) if state.sentinel is not None else None
        etag = await self._submit(
            iid, pk, batches(list(rows.values())), sentinel, previous, state.sentinel_etag
        )
        old_journal_blob = (previous or {}).get(keys.COL_JOURNAL_BLOB)
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
            await self.large.delete(old_journal_blob)

    async def _submit(
        self,
        iid: str,
        pk: str,
        chunks: list[list[dict[str, Any]]],
        sentinel: dict[str, Any],
        previous: dict[str, Any] | None,
        etag: str | None,
    ) -> str:
        """One transaction per chunk, each with the sentinel conditioned on the last ETag; the new ETag."""
        for n, chunk in enumerate(chunks):
            if n == len(chunks) - 1:
                marker = sentinel
            else:
                # Until the last batch lands, readers keep seeing the previous checkpoint.
                marker = {k: v for k, v in (previous or sentinel).items() if not k.startswith("odata")}
                marker.update(
                    {"PartitionKey": pk, "RowKey": keys.SENTINEL_ROW_KEY, "IsCheckpointComplete": False}
                )
                if previous is None:
                    marker[keys.COL_EVENT_COUNT] = 0
                    marker.pop(keys.COL_JOURNAL, None)
                    marker.pop(keys.COL_JOURNAL_BLOB, None)
                    marker[keys.COL_CONSUMED] = "[]"
            ops = [batch.Operation("upsert", row) for row in chunk]
            if etag is None:
                ops.append(batch.Operation("create", marker))
            else:
                ops.append(batch.Operation("update", marker, etag))
            try:
                etags = await batch.submit(self.history, ops)
            except batch.TransactionFailedError as exc:
                if exc.status_code in (409, 412):
                    raise LockLostError(f"history of {iid!r} was changed by another host") from None
                raise
            etag = etags[-1]
            if etag is None:
                raise StoreError("table transaction returned no ETag for the sentinel row")
        assert etag is not None
        return etag

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

    # ------------------------------------------------------------------ step 2: the other effects
    async def apply(
        self,
        state: InstanceState,
        journal: dict[str, Any],
        sends: list[Outgoing] | None = None,
        sent: Callable[[], None] | None = None,
    ) -> None:
        """Write an episode's non-history effects: sub-orchestration rows, then the messages (``sent`` is
        called once they are all enqueued), then the instance's own row. Idempotent, so that it can run
        again after a crash.

        The own row goes last on purpose: a row that shows the checkpoint (``applied``) proves that every
        message of the journal was sent, so a journal read cold is applied again only when a crash really
        cut it short — never re-sending the activity work of a checkpoint that was finished."""
        creates = [
            self._create_child(child)
            for child in map(_record_from_json, journal.get("newInstances") or [])
            if child is not None
        ]
        # Children first: a child's start message must find its row (an entity's first episode creates its
        # own row here too, as DTFx starts an entity on its first message).
        await asyncio.gather(*creates)
        if sends is None:
            sends = [
                Outgoing(queue, body, parse_ts(visible) if visible else None)
                for queue, body, visible in journal.get("sends") or []
            ]
        await asyncio.gather(*(self._send(s) for s in sends))
        if sent is not None:
            sent()
            # Let a dispatcher waiting for these messages take them before this row write's CPU (the SDK
            # builds and signs the request before its first await) delays it.
            await asyncio.sleep(0)
        record = _record_from_json(journal.get("instance"))
        if record is not None:
            await self.rows.update(record)
            state.record = record

    async def _create_child(self, record: InstanceRecord) -> None:
        written = await self.rows.create_child(record)
        if written is ChildRow.CREATED:
            self._born(record)
        elif written is ChildRow.REPLACED:
            self._forget(record.instance_id)


def applied(record: InstanceRecord | None, journal: dict[str, Any]) -> bool | None:
    """Whether a checkpoint's journal was applied to the end, judged by the instance row it writes last
    (``Journal.apply``): the row shows the checkpoint's execution, status and update time. None: the
    journal carries no row, so its row cannot tell. An instance whose row is gone was purged: nothing of
    its journal is to be sent any more."""
    target = _record_from_json(journal.get("instance"))
    if target is None:
        return None
    if record is None:
        return True
    return (
        record.execution_id == target.execution_id
        and record.runtime_status is target.runtime_status
        and record.last_updated_time == target.last_updated_time
    )


def _estimated_bytes(entity: dict[str, Any]) -> int:
    """DTFx's estimate of a row's size in a transaction: 1 KB plus its strings in UTF-16."""
    return 1024 + sum(2 * len(v) for v in entity.values() if isinstance(v, str))


def batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
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
