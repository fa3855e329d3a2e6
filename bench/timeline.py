"""One booking's critical path, from the timeline devhost writes when DEVHOST_TIMELINE_FILE is set
(devhost/store/timeline.py): storage requests and engine sections as [start, end, kind, what, instance].

    .venv/bin/python bench/timeline.py FILE START END      # one window (wall-clock seconds), as a listing

``breakdown`` splits a booking's POST→Confirmed window into the time some storage request of the booking
was in flight, the time an episode ran (the orchestrator's replay, on its thread) with no request in
flight, the time an activity ran (the sandbox's HTTP call and the app's code) with neither, and the rest:
devhost's own CPU between them (encoding, the SDK's pipeline before and after the socket) or an idle wait.
The benchmark's status queries are listed apart: they are not part of the booking.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STORAGE = ("table", "queue", "blob")

Row = list[Any]  # [start, end, kind, what, instance]


def load(path: str | Path) -> list[Row]:
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a killed process
    rows.sort(key=lambda r: r[0])
    return rows


def is_status_query(row: Row) -> bool:
    """The benchmark's own list query (management API): a table query with no instance of its own."""
    return row[2] == "table" and not row[4] and row[3].startswith("GET") and row[3].endswith("Instances()")


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _length(intervals: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in intervals)


def _minus(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Interval set a without b (both unions)."""
    out: list[tuple[float, float]] = []
    for s, e in a:
        cur = s
        for bs, be in b:
            if be <= cur or bs >= e:
                continue
            if bs > cur:
                out.append((cur, bs))
            cur = max(cur, be)
        if cur < e:
            out.append((cur, e))
    return out


def window(rows: list[Row], start: float, end: float) -> list[Row]:
    return [r for r in rows if r[1] >= start and r[0] <= end]


def breakdown(rows: list[Row], start: float, end: float) -> dict[str, Any]:
    """Where one booking's POST→Confirmed window went (ms), and its storage requests by kind."""
    inside = window(rows, start, end)

    def clip(rs: Iterable[Row]) -> list[tuple[float, float]]:
        return _union((max(r[0], start), min(r[1], end)) for r in rs)

    storage_rows = [r for r in inside if r[2] in STORAGE and not is_status_query(r)]
    storage = clip(storage_rows)
    episodes = _minus(clip(r for r in inside if r[2] == "episode"), storage)
    covered = _union(storage + episodes)
    activities = _minus(clip(r for r in inside if r[2] == "activity"), covered)
    covered = _union(covered + activities)
    total = end - start
    requests: dict[str, int] = {}
    for r in storage_rows:
        requests[f"{r[2]} {r[3].split(' ')[0]}"] = requests.get(f"{r[2]} {r[3].split(' ')[0]}", 0) + 1
    return {
        "window_ms": round(total * 1000, 1),
        "storage_in_flight_ms": round(_length(storage) * 1000, 1),
        "episode_cpu_only_ms": round(_length(episodes) * 1000, 1),
        "activity_only_ms": round(_length(activities) * 1000, 1),
        "rest_ms": round((total - _length(covered)) * 1000, 1),
        "episodes": sum(1 for r in inside if r[2] == "episode"),
        "storage_requests": len(storage_rows),
        "storage_requests_by_kind": dict(sorted(requests.items())),
        "status_queries": sum(1 for r in inside if is_status_query(r)),
    }


def listing(rows: list[Row], start: float, end: float) -> list[str]:
    """Every span of the window relative to its start (ms), the status queries left out."""
    out = []
    for r in window(rows, start, end):
        if is_status_query(r) or r[2] == "wait":
            continue
        out.append(
            f"{(r[0] - start) * 1000:8.1f} {(r[1] - r[0]) * 1000:7.1f}  {r[2]:8} {r[3][:48]:48} {r[4][-22:]}"
        )
    return out


def main() -> None:
    path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    rows = load(path)
    print("\n".join(listing(rows, start, end)))
    print(json.dumps(breakdown(rows, start, end), indent=2))


if __name__ == "__main__":
    main()
