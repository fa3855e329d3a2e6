"""One execution's history as compact JSON text, for the in-memory store.

The memory store is the task hub itself: every instance it holds stays until purged, so thousands of
parked bookings keep their histories for hours. As Python dicts a booking's two histories (44 events) take
~32 KB; as JSON text ~15 KB (bench/README.md, "Parked at scale"). So the store keeps the text and parses
it only when an episode or a client reads the history: reads return fresh lists of fresh dicts, which the
caller may change without touching what is stored (as on the Azure Storage store, which also hands out
what it parsed from its rows).

Each append is kept as its own chunk of text, never concatenated onto the previous ones: growing one string
per instance would free and reallocate it at every episode, and with thousands of instances growing side by
side the freed blocks fragment the heap (measured: more RSS than the dicts). ASCII-only (the encoder's
default escaping), so that each character costs one byte."""

from __future__ import annotations

import json
from collections.abc import Sequence

from devhost.history import HistoryEvent

# No spaces: the text is never shown, only parsed back.
_encode = json.JSONEncoder(separators=(",", ":")).encode


class PackedHistory:
    """An append-only list of history events held as JSON text: one chunk per append (the events' objects
    joined by commas, without the enclosing brackets)."""

    __slots__ = ("_chunks", "_count")

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
        """Appends the events; returns them as a reader will get them (parsed back from their text), for a
        caller that keeps a parsed copy up to date without parsing the whole history again."""
        if not events:
            return []
        text = _encode(list(events))
        self._chunks.append(text[1:-1])
        self._count += len(events)
        appended: list[HistoryEvent] = json.loads(text)
        return appended

    def events(self) -> list[HistoryEvent]:
        """The events, parsed afresh on every call."""
        if not self._chunks:
            return []
        events: list[HistoryEvent] = json.loads(f"[{','.join(self._chunks)}]")
        return events
