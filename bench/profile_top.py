"""Summarise a py-spy raw profile (one collapsed stack per line, `frame;frame;... count`): the functions
with the most samples on top of the stack (self) and anywhere in it (inclusive), and the share of samples
by area (the package a leaf frame belongs to).

    .venv/bin/python bench/profile_top.py FILE [--top 25] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

# A frame reads `function (path/to/file.py:LINE)`; the line is dropped so a function counts once.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")

AREAS = [
    ("devhost/store", "devhost store (Azure)"),
    ("devhost/engine", "devhost engine"),
    ("devhost/http", "devhost HTTP (management API, app routes)"),
    ("devhost/", "devhost, other"),
    ("durable_functions", "durable SDK (replay)"),
    ("httpx", "httpx / httpcore (the app's supplier calls)"),
    ("httpcore", "httpx / httpcore (the app's supplier calls)"),
    # py-spy shortens a site-packages path to the package part: azure/core/x.py shows as core/x.py.
    ("core/", "azure-core (request pipeline)"),
    ("tables/", "azure-data-tables (entities, batch)"),
    ("queue/", "azure-storage-queue"),
    ("blob/", "azure-storage-blob"),
    ("email/", "email (multipart table batches, HTTP headers)"),
    ("aiohttp", "aiohttp (transport)"),
    ("yarl", "aiohttp (transport)"),
    ("multidict", "aiohttp (transport)"),
    ("uvicorn", "HTTP server"),
    ("starlette", "HTTP server"),
    ("orchestrators/", "the app's orchestrators"),
    ("booking/", "the app"),
    ("function_app", "the app"),
    ("json", "json"),
    ("asyncio", "asyncio event loop"),
    ("selectors", "asyncio event loop"),
    ("logging", "logging"),
]


def frame_name(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), ""
    return f"{m['func']} ({m['file']})", m["file"]


def area(path: str) -> str:
    for prefix, name in AREAS:
        if prefix in path:
            return name
    return "other: " + (path.split("/")[0] if path else "?")


def summarise(path: Path, top: int) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        leaf, leaf_file = frames[-1]
        own[leaf] += count
        areas[area(leaf_file)] += count
        for name in {name for name, _ in frames}:
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)]

    return {"samples": total, "by_area_pct": share(areas), "self_pct": share(own),
            "inclusive_pct": share(inclusive)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    result = summarise(Path(args.file), args.top)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['samples']} samples")
    for title in ("by_area_pct", "self_pct", "inclusive_pct"):
        print(f"\n{title}")
        for name, pct in result[title]:
            print(f"  {pct:5.1f}%  {name}")


if __name__ == "__main__":
    main()
