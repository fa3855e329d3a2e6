"""Names and keys of the DurableTask.AzureStorage layout (PROTOCOL.md §6): tables, queues, containers,
escaped partition keys, 16-hex-digit history row keys and the FNV-1a control-queue partitioning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = "^"
_CONTROL_OFFSET = 0xC0  # DTFx KeySanitation: control char c is written as "^" + chr(0xC0 + c)
_NAMED = {"^": "^", "/": "0", "\\": "1", "#": "2", "?": "3"}
_UNNAMED = {v: k for k, v in _NAMED.items()}

FNV_OFFSET_BASIS = 2166136261
FNV_PRIME = 16777619

SENTINEL_ROW_KEY = "sentinel"
# Devhost's own columns on the sentinel row (DTFx readers ignore unknown columns); journal.py explains them.
COL_EVENT_COUNT = "DevhostEventCount"
COL_CONSUMED = "DevhostConsumed"
COL_RECENT = "DevhostRecentMessages"
COL_JOURNAL = "DevhostJournal"
COL_JOURNAL_BLOB = "DevhostJournalBlobName"
_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")


def validate_hub_name(hub: str) -> str:
    """Azure Storage task hub names: alphanumeric, starting with a letter, 3-45 characters (PROTOCOL.md
    §7)."""
    if not _HUB_NAME.match(hub):
        raise ValueError(
            f"Task hub name {hub!r} is invalid for Azure Storage: "
            "use 3-45 letters or digits, starting with a letter"
        )
    return hub


def escape_partition_key(key: str) -> str:
    """DTFx KeySanitation.EscapePartitionKey: make an instance id safe as a table PartitionKey."""
    out: list[str] = []
    for ch in key:
        if ch in _NAMED:
            out.append(_ESCAPE + _NAMED[ch])
            continue
        code = ord(ch)
        if code <= 0x1F or 0x7F <= code <= 0x9F:
            out.append(_ESCAPE + chr(_CONTROL_OFFSET + code))
        else:
            out.append(ch)
    return "".join(out)


def unescape_partition_key(key: str) -> str:
    """Inverse of escape_partition_key (DTFx KeySanitation.UnescapePartitionKey)."""
    if _ESCAPE not in key:
        return key  # most ids: no loop (a list of 10,000 instances unescapes every key)
    out: list[str] = []
    i = 0
    while i < len(key):
        ch = key[i]
        if ch != _ESCAPE or i + 1 >= len(key):
            out.append(ch)
            i += 1
            continue
        nxt = key[i + 1]
        if nxt in _UNNAMED:
            out.append(_UNNAMED[nxt])
        else:
            code = ord(nxt)
            out.append(chr(code - _CONTROL_OFFSET) if code >= _CONTROL_OFFSET else nxt)
        i += 2
    return "".join(out)


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a, as DurableTask.AzureStorage Fnv1aHashHelper.ComputeHash."""
    h = FNV_OFFSET_BASIS
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def partition_index(instance_id: str, partition_count: int) -> int:
    """Control-queue partition of an instance: FNV-1a-32 of its UTF-8 id modulo the partition count."""
    return fnv1a_32(instance_id.encode("utf-8")) % partition_count


def history_row_key(sequence_number: int) -> str:
    """History RowKey: the event's position in its execution's event list, as 16 upper-case hex digits."""
    return f"{sequence_number:016X}"


@dataclass(frozen=True)
class HubNames:
    """The names of one task hub's tables, queues and containers, as DTFx derives them from the hub name:
    tables keep its case; queue and container names must be lower case."""

    instances_table: str
    history_table: str
    control_queues: tuple[str, ...]
    workitem_queue: str
    large_messages_container: str
    leases_container: str

    @classmethod
    def of(cls, hub: str, partition_count: int) -> HubNames:
        low = hub.lower()
        return cls(
            instances_table=f"{hub}Instances",
            history_table=f"{hub}History",
            control_queues=tuple(f"{low}-control-{i:02d}" for i in range(partition_count)),
            workitem_queue=f"{low}-workitems",
            large_messages_container=f"{low}-largemessages",
            leases_container=f"{low}-leases",
        )
