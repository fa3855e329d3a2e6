"""Instance rows and reads: the ``<hub>Instances`` table and reading an instance's history.

One job: turn ``InstanceRecord`` into Instances rows and back (Input/Output over 60 KB live in a blob and
the row holds its URL, as in DTFx), and answer the reads of the store interface: one instance, its
history, a filtered page of instances, and purging one. Creating an instance and the journal's row writes
(``journal.py``) use the same conditional writes defined here.

History reads honour the journal's sentinel row: rows past the sentinel's event count were written by a
checkpoint that never completed, so they are not history (the next checkpoint overwrites them). This module
knows nothing of queues or locks; the store (``store.py``) composes it with the receiver and the journal.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import logging
from collections.abc import Iterable
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.history import TERMINAL_STATUSES, HistoryEvent, RuntimeStatus
from devhost.store.azure import entities, keys, payloads, summaries
from devhost.store.base import InstanceExistsError, InstanceQuery, InstanceRecord, StoreError

log = logging.getLogger("devhost.store.azure")


class ChildRow(enum.Enum):
    """What ``create_child`` did: wrote a row where there was none, replaced a finished one, or kept the
    row that was there (live, or this very execution's: the journal was applied before)."""

    CREATED = "created"
    REPLACED = "replaced"
    KEPT = "kept"


_RACE = (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError)  # another writer got there first
_RETRIES = 5
_PURGE_BATCH = 100  # the table transaction limit
_TOKEN_PREFIX = "az:"


class InstanceTable:
    """The Instances table of one hub, plus history reads (the History table's rows of one instance)."""

    def __init__(
        self, hub: str, instances: TableClient, history: TableClient, large: payloads.LargePayloads
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.history = history
        self.large = large

    # ------------------------------------------------------------------ rows <-> records
    async def row_entity(self, record: InstanceRecord) -> dict[str, Any]:
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

    async def record_from_entity(self, entity: dict[str, Any]) -> InstanceRecord:
        entity = dict(entity)
        for prop in ("Input", "Output"):
            value = entity.get(prop)
            if isinstance(value, str):
                name = self.large.name_from_url(value)
                if name is not None:
                    entity[prop] = await self.large.download(name)
        return entities.entity_to_instance(entity, keys.unescape_partition_key(entity["PartitionKey"]))

    # ------------------------------------------------------------------ reads
    async def read(self, instance_id: str) -> tuple[InstanceRecord | None, str | None]:
        """The instance's record and its row's ETag (None, None: no row)."""
        try:
            entity = await self.instances.get_entity(keys.escape_partition_key(instance_id), "")
        except ResourceNotFoundError:
            return None, None
        return await self.record_from_entity(dict(entity)), entity.metadata.get("etag")

    async def read_history(
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
        async for entity in self.history.query_entities(query, parameters=params):
            if entity["RowKey"] == keys.SENTINEL_ROW_KEY:
                sentinel = dict(entity)
                etag = entity.metadata.get("etag")
            else:
                rows.append(dict(entity))
        wanted = execution_id or (sentinel or {}).get("ExecutionId")
        limit: int | None = None
        if (
            sentinel is not None
            and sentinel.get("ExecutionId") == wanted
            and keys.COL_EVENT_COUNT in sentinel
        ):
            # Rows past the count belong to a checkpoint that never completed (they get overwritten).
            limit = int(sentinel[keys.COL_EVENT_COUNT])
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

    async def query(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        """One page of instances matching ``query``; the token is the table's, base64 behind ``az:``.
        Without payloads (``query.payloads`` False) the rows are read by ``summaries`` (far faster)."""
        if page_size <= 0:
            raise ValueError("page size must be positive")
        token = _decode_token(continuation) if continuation else None
        if query.runtime_status is not None and not query.runtime_status:
            return [], None
        query_filter = _filter(query)
        out: list[InstanceRecord] = []
        if not query.payloads:
            rows, next_token = await summaries.query_page(self.instances, query_filter, page_size, token)
            for row in rows:
                record = entities.entity_to_instance(row, keys.unescape_partition_key(row["PartitionKey"]))
                if query.matches(record):
                    out.append(record)
            return out, _encode_token(next_token)
        pager = self.instances.query_entities(query_filter, results_per_page=page_size).by_page(
            continuation_token=token  # type: ignore[arg-type]
        )
        try:
            page = await pager.__anext__()
            async for entity in page:
                record = await self.record_from_entity(dict(entity))
                if query.matches(record):
                    out.append(record)
        except StopAsyncIteration:
            return out, None
        return out, _encode_token(pager.continuation_token)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ writes
    async def create(self, record: InstanceRecord, replaceable: Iterable[RuntimeStatus] | None) -> bool:
        """Create or replace the row (``TaskHubStore.create_instance``); True when no row existed."""
        allowed = None if replaceable is None else set(replaceable)
        entity = await self.row_entity(record)
        try:
            # Optimistic: a new id needs one request; an existing one is read and decided below.
            await self.instances.create_entity(entity)
            return True
        except ResourceExistsError:
            pass
        for _ in range(_RETRIES):
            old, etag = await self.read(record.instance_id)
            if old is not None and allowed is not None and old.runtime_status not in allowed:
                raise InstanceExistsError(record.instance_id, old.runtime_status) from None
            try:
                await self._write(entity, old is None, etag)
                return old is None
            except _RACE:
                continue  # raced with another writer: re-read and decide again
        raise StoreError(
            f"instance {record.instance_id!r} kept changing while it was being created"
        ) from None

    async def create_child(self, record: InstanceRecord) -> ChildRow:
        """Create a sub-orchestration's row unless a live one or this execution's exists (idempotent, so a
        re-applied journal changes nothing). Says whether this call wrote it, and whether a row was there."""
        entity = await self.row_entity(record)
        try:
            # Optimistic, as ``create``: a new child (the usual case) costs one request, not a read first.
            await self.instances.create_entity(entity)
            return ChildRow.CREATED
        except ResourceExistsError:
            pass
        for _ in range(_RETRIES):
            old, etag = await self.read(record.instance_id)
            if old is not None and old.runtime_status not in TERMINAL_STATUSES:
                return ChildRow.KEPT
            if old is not None and old.execution_id == record.execution_id:
                return ChildRow.KEPT
            try:
                await self._write(entity, old is None, etag)
                return ChildRow.CREATED if old is None else ChildRow.REPLACED
            except _RACE:
                continue
        return ChildRow.KEPT

    async def update(self, record: InstanceRecord) -> None:
        """Replace the row as the engine left it; a purged instance is not brought back."""
        entity = await self.row_entity(record)
        try:
            await self.instances.update_entity(entity, mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            log.info("instance %s was purged while it ran; its row is not recreated", record.instance_id)

    async def _write(self, entity: dict[str, Any], new: bool, etag: str | None) -> None:
        """Insert, or replace only if the row still has ``etag``."""
        if new:
            await self.instances.create_entity(entity)
        else:
            await self.instances.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )

    async def purge(self, instance_id: str) -> int:
        """Delete the row, every history row (sentinel included) and the instance's blobs; 1 if it existed."""
        pk = keys.escape_partition_key(instance_id)
        record, _ = await self.read(instance_id)
        if record is None:
            return 0
        await self.instances.delete_entity(pk, "")
        rows = [
            (e["PartitionKey"], e["RowKey"])
            async for e in self.history.query_entities(
                "PartitionKey eq @pk", parameters={"pk": pk}, select=["PartitionKey", "RowKey"]
            )
        ]
        for start in range(0, len(rows), _PURGE_BATCH):
            chunk = rows[start : start + _PURGE_BATCH]
            await self.history.submit_transaction(
                [("delete", {"PartitionKey": p, "RowKey": r}) for p, r in chunk]
            )
        await self.large.delete_prefix(pk + "/")
        if pk != instance_id:
            await self.large.delete_prefix(instance_id + "/")
        return 1


def _filter(query: InstanceQuery) -> str:
    """The OData filter of ``query``, literals inline (both readers take it as it is)."""
    clauses: list[str] = []
    if query.created_from is not None:
        clauses.append(f"CreatedTime ge {_datetime_literal(query.created_from)}")
    if query.created_to is not None:
        clauses.append(f"CreatedTime le {_datetime_literal(query.created_to)}")
    if query.runtime_status:
        statuses = " or ".join(f"RuntimeStatus eq '{s.name}'" for s in sorted(query.runtime_status))
        clauses.append(f"( {statuses} )")
    if query.instance_id_prefix:
        low = keys.escape_partition_key(query.instance_id_prefix)
        high = low[:-1] + chr(ord(low[-1]) + 1)
        clauses.append(f"PartitionKey ge {_string_literal(low)} and PartitionKey lt {_string_literal(high)}")
    return " and ".join(clauses) or "RowKey eq ''"


def _datetime_literal(value: dt.datetime) -> str:
    utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value
    return f"datetime'{utc.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


def _string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _encode_token(token: dict[str, Any] | None) -> str | None:
    if not token:
        return None
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_token(continuation: str) -> dict[str, Any]:
    try:
        if not continuation.startswith(_TOKEN_PREFIX):
            raise ValueError
        token = json.loads(base64.urlsafe_b64decode(continuation[len(_TOKEN_PREFIX) :].encode()).decode())
        if not isinstance(token, dict):
            raise ValueError
    except ValueError:
        raise ValueError("invalid continuation token") from None
    return token
