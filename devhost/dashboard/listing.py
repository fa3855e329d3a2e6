"""The instance list: filters, counts per status, newest first, paged.

The store interface pages instances in its own stable order (the Azure store: by instance id), has no
count and no orchestrator-name filter. So one list request reads every instance that the store-side
filters (created range, id prefix) let through, without payloads (the Azure store then reads only the
summary columns), counts them per status, filters by status and name here, sorts newest first and cuts
the page. That is one read per filter, which `Snapshots` shares between the refreshes of a watched list.
Why no index: devhost/dashboard/README.md; the cost at 10,000 instances: bench/dashboard.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devhost.history import RUNNING_STATUSES, TERMINAL_STATUSES, RuntimeStatus, format_ts
from devhost.http.hub import HubClient
from devhost.store.base import InstanceQuery, InstanceRecord

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Rows per store read while scanning: large pages keep the round trips few.
SCAN_PAGE_SIZE = 1000
MAX_PREFIX_LENGTH = 256


class FilterError(ValueError):
    """A filter value the list cannot use; the message names the parameter and what it accepts."""


@dataclass(frozen=True)
class ListFilter:
    statuses: frozenset[RuntimeStatus] | None = None
    name: str | None = None  # orchestrator name, case-insensitive substring
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    id_prefix: str | None = None

    def store_query(self) -> InstanceQuery:
        """The part the store filters itself (status is left out: the counts need every status)."""
        return InstanceQuery(created_from=self.created_from, created_to=self.created_to,
                             instance_id_prefix=self.id_prefix, payloads=False)

    def matches_name(self, record: InstanceRecord) -> bool:
        return self.name is None or self.name.lower() in record.name.lower()


def _time(params: Mapping[str, str], name: str) -> dt.datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"'{name}' must be an ISO 8601 time such as 2026-12-04T05:00:00Z, not {raw!r}") \
            from None
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def parse_filter(params: Mapping[str, str]) -> ListFilter:
    """The list's query parameters: status (comma-separated names), name, from, to, prefix."""
    statuses: frozenset[RuntimeStatus] | None = None
    raw_status = params.get("status", "").strip()
    if raw_status:
        found = set()
        for part in (p.strip() for p in raw_status.split(",")):
            if part not in RuntimeStatus.__members__:
                known = ", ".join(RuntimeStatus.__members__)
                raise FilterError(f"unknown runtime status {part!r} in 'status' (one of {known})")
            found.add(RuntimeStatus[part])
        statuses = frozenset(found)
    created_from, created_to = _time(params, "from"), _time(params, "to")
    if created_from is not None and created_to is not None and created_from > created_to:
        raise FilterError("'from' is after 'to'")
    prefix = params.get("prefix") or None
    if prefix is not None and (len(prefix) > MAX_PREFIX_LENGTH or any(ord(c) < 32 for c in prefix)):
        raise FilterError(f"'prefix' must be at most {MAX_PREFIX_LENGTH} printable characters")
    name = params.get("name", "").strip() or None
    return ListFilter(statuses, name, created_from, created_to, prefix)


def parse_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise FilterError(f"'{name}' must be a whole number from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise FilterError(f"'{name}' must be from {low} to {high}, not {value}")
    return value


async def scan(hub: HubClient, flt: ListFilter) -> list[InstanceRecord]:
    """Every instance the filter's store part and name select (any status)."""
    out: list[InstanceRecord] = []
    token: str | None = None
    query = flt.store_query()
    while True:
        page, token = await hub.query(query, SCAN_PAGE_SIZE, token)
        out.extend(r for r in page if flt.matches_name(r))
        if token is None:
            return out


def summary(record: InstanceRecord) -> dict[str, Any]:
    """One list row: no payloads (they can be large; the instance page shows them)."""
    return {
        "instanceId": record.instance_id,
        "name": record.name,
        "runtimeStatus": RuntimeStatus(record.runtime_status).name,
        "createdTime": format_ts(record.created_time),
        "lastUpdatedTime": format_ts(record.last_updated_time),
        "completedTime": format_ts(record.completed_time) if record.completed_time else None,
        "parentInstanceId": record.parent_instance_id,
    }


def newest_first(records: list[InstanceRecord]) -> list[InstanceRecord]:
    return sorted(records, key=lambda r: (r.created_time, r.instance_id), reverse=True)


def selected(records: list[InstanceRecord], flt: ListFilter) -> list[InstanceRecord]:
    return [r for r in records if flt.statuses is None or r.runtime_status in flt.statuses]


def page_body(
    records: list[InstanceRecord],
    flt: ListFilter,
    page: int,
    page_size: int,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """The list API's answer: one page newest first, the total, counts per status, and how many
    instances a bulk terminate (running ones) or bulk purge (finished ones) of this filter would touch."""
    counts = Counter(r.runtime_status for r in records)
    chosen = newest_first(selected(records, flt))
    start = (page - 1) * page_size
    return {
        "instances": [summary(r) for r in chosen[start:start + page_size]],
        "total": len(chosen),
        "page": page,
        "pageSize": page_size,
        "asOf": format_ts(as_of) if as_of is not None else None,
        "counts": {status.name: counts.get(status, 0) for status in RuntimeStatus},
        "eligible": {
            "terminate": sum(1 for r in chosen if r.runtime_status in RUNNING_STATUSES),
            "purge": sum(1 for r in chosen if r.runtime_status in TERMINAL_STATUSES),
        },
    }


@dataclass
class _Snapshot:
    records: list[InstanceRecord]
    taken: float  # time.monotonic() when the scan started
    taken_at: dt.datetime


class Snapshots:
    """Recent scans, reused by the list's 2-second refresh so that a person watching a large hub does not
    wait for a full scan on every tick. A scan younger than `fresh_for` is served as it is; one younger
    than `stale_for` is served at once while a new scan runs in the background (the next tick shows it);
    anything older, or a filter not seen yet, waits for its scan. Any action clears them all."""

    def __init__(
        self, hub: HubClient, *, fresh_for: float = 1.0, stale_for: float = 10.0, keep: int = 8
    ) -> None:
        self.hub = hub
        self.fresh_for = fresh_for
        self.stale_for = stale_for
        self.keep = keep
        self._snapshots: dict[tuple[Any, ...], _Snapshot] = {}
        self._scans: dict[tuple[Any, ...], asyncio.Task[_Snapshot]] = {}
        self._generation = 0  # bumped by clear(): a scan that began before it is not kept

    @staticmethod
    def _key(flt: ListFilter) -> tuple[Any, ...]:
        return (flt.created_from, flt.created_to, flt.id_prefix)

    async def _scan(self, key: tuple[Any, ...], flt: ListFilter) -> _Snapshot:
        started, started_at, generation = time.monotonic(), dt.datetime.now(dt.UTC), self._generation
        # The name filter is applied per request: a snapshot holds every name.
        every_name = ListFilter(None, None, flt.created_from, flt.created_to, flt.id_prefix)
        records = await scan(self.hub, every_name)
        snapshot = _Snapshot(records, started, started_at)
        if generation != self._generation:
            return snapshot  # answers the request that waited for it, but an action came since
        self._snapshots[key] = snapshot
        while len(self._snapshots) > self.keep:
            self._snapshots.pop(next(iter(self._snapshots)))
        return snapshot

    def _start_scan(self, key: tuple[Any, ...], flt: ListFilter) -> asyncio.Task[_Snapshot]:
        task = self._scans.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._scan(key, flt))
            self._scans[key] = task
            task.add_done_callback(lambda done: self._scans.pop(key, None) if self._scans.get(key) is done
                                   else None)
        return task

    async def records(self, flt: ListFilter) -> tuple[list[InstanceRecord], dt.datetime]:
        """The instances the filter selects (any status), and when that scan started."""
        key = self._key(flt)
        snapshot = self._snapshots.get(key)
        age = time.monotonic() - snapshot.taken if snapshot is not None else None
        if snapshot is None or age is None or age >= self.stale_for:
            snapshot = await self._start_scan(key, flt)
        elif age >= self.fresh_for:
            self._start_scan(key, flt)  # the next refresh gets it
        return [r for r in snapshot.records if flt.matches_name(r)], snapshot.taken_at

    def clear(self) -> None:
        self._generation += 1
        self._snapshots.clear()
        self._scans.clear()
