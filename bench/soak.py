"""Soak: a steady mixed load of bookings on devhost + Azurite + the sandbox, sampling devhost's RSS and its
CPU per finished booking over time, to show whether a booking's cost grows with the bookings already done.

    .venv-bench/bin/python bench/soak.py [--minutes 20] [--rate 1.0] [--out bench/results/soak.json]

Bounded: it starts bookings at `--rate` per second for `--minutes`, waits for them to finish (the drain,
at most 2 minutes), samples 30 idle seconds more, stops every process it started and writes the result.
Loopback only. The mix: 1- and 3-trip bookings that are confirmed, a declined payment, a sold-out hotel
(undone), a flaky airline (retried) and a payment never made (expired after PAYMENT_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.results_file import stamp, write_results  # noqa: E402
from bench.stack import book, booking_body, running_stack, wait_final  # noqa: E402

# (trips, scenario tags) in turn: 10 bookings per round.
MIX = [(1, ""), (3, ""), (1, ""), (1, "decline"), (1, ""), (3, "nohotel"), (1, "flaky"), (1, ""),
       (3, ""), (1, "nopay")]
SETTINGS = {
    "PAYMENT_TIMEOUT_SECONDS": "5",
    "SUPPLIER_RETRY_FIRST_INTERVAL_MS": "100",
    "SUPPLIER_RETRY_BACKOFF": "2.0",
    "SUPPLIER_RETRY_MAX_INTERVAL_MS": "1000",
    "SUPPLIER_RETRY_MAX_ATTEMPTS": "4",
}
HOOK = REPO / "bench" / "tracemalloc_hook"
SAMPLE_EVERY = 10.0  # seconds
POLL = 0.5  # a waiting client's status poll
IDLE_AFTER = 30.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    samples: list[dict[str, Any]] = []
    finished = 0
    statuses: dict[str, int] = {}
    failures: list[str] = []
    snapshots = Snapshots(args.trace_memory)
    with running_stack({**SETTINGS, **snapshots.env()}) as stack:
        t0 = time.monotonic()
        cpu0 = stack.cpu_seconds()
        warm_end = t0 + args.minutes * 60 / 5  # the first fifth of the load is warm-up (see report)

        def sample(phase: str) -> None:
            samples.append({
                "t_s": round(time.monotonic() - t0, 1),
                "phase": phase,
                "rss_mb": round(stack.rss_mb(), 1),
                "cpu_s": round(stack.cpu_seconds() - cpu0, 2),
                "finished": finished,
                "load_1m": float(Path("/proc/loadavg").read_text().split()[0]),
            })

        async with httpx.AsyncClient(timeout=30) as http:

            async def one(n_trips: int, tags: str) -> None:
                nonlocal finished
                try:
                    booking_id = await book(http, stack.api, booking_body(n_trips, tags))
                    status, _ = await wait_final(http, stack.api, booking_id, POLL, timeout=180)
                    statuses[status] = statuses.get(status, 0) + 1
                except Exception as exc:  # noqa: BLE001 - counted and reported, the soak goes on
                    failures.append(f"{type(exc).__name__}: {exc}"[:200])
                finished += 1

            tasks: set[asyncio.Task[None]] = set()
            end = t0 + args.minutes * 60
            next_sample = t0
            started = 0
            for n_trips, tags in itertools.cycle(MIX):
                now = time.monotonic()
                if now >= end:
                    break
                if now >= next_sample:
                    sample("load")
                    next_sample += SAMPLE_EVERY
                if now >= warm_end and not snapshots.taken:
                    await snapshots.take(stack.devhost.pid, "after_warmup")
                task = asyncio.create_task(one(n_trips, tags))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                started += 1
                await asyncio.sleep(max(0.0, t0 + started / args.rate - time.monotonic()))
            await snapshots.take(stack.devhost.pid, "end_of_load")
            drain_start = time.monotonic()
            while tasks and time.monotonic() - drain_start < 120:
                await asyncio.wait(list(tasks), timeout=SAMPLE_EVERY)
                sample("drain")
            idle_end = time.monotonic() + IDLE_AFTER
            while time.monotonic() < idle_end:
                await asyncio.sleep(SAMPLE_EVERY)
                sample("idle")
            await snapshots.take(stack.devhost.pid, "after_drain_and_idle")
        storage = stack.counts()
        if args.trace_memory:  # what devhost logged, to read beside the snapshots
            Path(args.out).with_suffix(".devhost.log").write_text(stack.devhost.output()[-200_000:])
    result = report(args, samples, started, statuses, failures, storage)
    if args.trace_memory:
        result["tracemalloc"] = snapshots.compare()
        snapshots.close()
    return result


class Snapshots:
    """tracemalloc snapshots of devhost itself (`--trace-memory`): `bench/tracemalloc_hook` is put on its
    PYTHONPATH, and SIGUSR2 makes it dump one with a summary (census included); they are compared here,
    after the run."""

    FRAMES = int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "1"))  # more frames: slower devhost

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.dir = Path(tempfile.mkdtemp(prefix="soak-tracemalloc-")) if enabled else None
        self.taken: list[tuple[str, Path, str]] = []

    def env(self) -> dict[str, str]:
        if self.dir is None:
            return {}
        # Traced from start-up (PYTHONTRACEMALLOC), so the hook's start signal is not needed.
        return {"PYTHONPATH": str(HOOK), "PYTHONTRACEMALLOC": str(self.FRAMES),
                "DEVHOST_TRACEMALLOC_DUMP": str(self.dir / "devhost.snapshot")}

    async def take(self, pid: int, label: str) -> None:
        if self.dir is None:
            return
        n = len(self.taken) + 1
        dump, summary = self.dir / "devhost.snapshot", self.dir / "devhost.snapshot.json"
        summary.unlink(missing_ok=True)
        os.kill(pid, signal.SIGUSR2)
        for _ in range(1200):  # a big snapshot takes seconds; devhost is paused meanwhile
            if summary.exists():
                break
            await asyncio.sleep(0.1)
        kept = self.dir / f"snapshot-{n}.pickle"
        traced = ""
        if summary.exists():
            figures = json.loads(summary.read_text())
            traced = str((figures["traced_current_bytes"], figures["traced_peak_bytes"]))
            kept.with_suffix(".census.json").write_text(json.dumps(figures["census"], sort_keys=True))
            dump.replace(kept)
        self.taken.append((label, kept, traced))

    def compare(self) -> dict[str, Any]:
        loaded = [(label, tracemalloc.Snapshot.load(str(path)), traced) for label, path, traced in self.taken
                  if path.exists()]
        out: dict[str, Any] = {"traced_current_peak": {label: traced for label, _, traced in loaded}}
        censuses = {label: json.loads(path.with_suffix(".census.json").read_text())
                    for label, path, _ in self.taken if path.with_suffix(".census.json").exists()}
        if censuses:
            # container attributes of devhost's and the app's objects, summed per class.attribute: the ones
            # that changed between the first snapshot and any later one
            names = sorted({k for census in censuses.values() for k in census})
            lengths = {k: {label: census.get(k, 0) for label, census in censuses.items()} for k in names}
            out["container_lengths"] = {k: v for k, v in lengths.items() if len(set(v.values())) > 1}
        if len(loaded) < 2:
            return out
        base = loaded[0]
        for label, snap, _ in loaded[1:]:
            key = f"{base[0]}->{label}"
            lines = snap.compare_to(base[1], "lineno")
            out[key] = {
                "total_diff_kb": round(sum(s.size_diff for s in lines) / 1024, 1),
                "top_lines": [f"{s.size_diff / 1024:+.1f} KB {s.count_diff:+d} blocks "
                              f"{s.traceback[0].filename}:{s.traceback[0].lineno}" for s in lines[:20]],
                "top_tracebacks": [
                    {"size_diff_kb": round(s.size_diff / 1024, 1), "count_diff": s.count_diff,
                     "traceback": [f"{f.filename}:{f.lineno}" for f in s.traceback]}
                    for s in snap.compare_to(base[1], "traceback")[:8]
                ],
            }
        return out

    def close(self) -> None:
        if self.dir is not None:
            for p in self.dir.iterdir():
                p.unlink()
            self.dir.rmdir()


def report(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    started: int,
    statuses: dict[str, int],
    failures: list[str],
    storage: dict[str, int],
) -> dict[str, Any]:
    load = [s for s in samples if s["phase"] == "load"]
    # Warm-up: the first fifth of the load (at least one sample); the rest is split in thirds.
    steady = load[max(1, len(load) // 5):]
    third = max(1, len(steady) // 3)
    first, last = steady[: third + 1], steady[-third - 1:]

    def cpu_per_booking(window: list[dict[str, Any]]) -> float | None:
        done = window[-1]["finished"] - window[0]["finished"]
        return round((window[-1]["cpu_s"] - window[0]["cpu_s"]) / done, 4) if done > 0 else None

    plateau = steady[0]["rss_mb"] if steady else None
    end_of_load = load[-1]["rss_mb"] if load else None
    after_idle = samples[-1]["rss_mb"] if samples else None
    cpu_first, cpu_last = cpu_per_booking(first), cpu_per_booking(last)
    return {
        "benchmark": "soak: steady mixed bookings on devhost + Azurite 3.35.0 + the sandbox",
        **stamp(),
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "config": {"minutes": args.minutes, "rate_per_s": args.rate, "mix": MIX, "app_settings": SETTINGS,
                   "sample_every_s": SAMPLE_EVERY, "status_poll_s": POLL},
        "bookings_started": started,
        "final_statuses": statuses,
        "failures": failures[:20],
        "failure_count": len(failures),
        "storage_requests": storage,
        "rss_mb": {
            "after_warmup": plateau,
            "end_of_load": end_of_load,
            "after_drain_and_idle": after_idle,
            "growth_over_run_pct": round((end_of_load / plateau - 1) * 100, 1)
            if plateau and end_of_load else None,
            "max": max((s["rss_mb"] for s in samples), default=None),
        },
        "cpu_s_per_booking": {
            "first_third": cpu_first,
            "last_third": cpu_last,
            "change_pct": round((cpu_last / cpu_first - 1) * 100, 1) if cpu_first and cpu_last else None,
            "overall": cpu_per_booking(steady) if len(steady) > 1 else None,
            "per_sample_median": statistics.median(
                [v for v in (cpu_per_booking([a, b]) for a, b in itertools.pairwise(steady)) if v] or [0]
            ),
        },
        "targets": {"rss_growth_pct": 10, "cpu_per_booking_change_pct": 10},
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=1.0, help="bookings started per second")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "soak.json"))
    parser.add_argument("--trace-memory", action="store_true",
                        help="devhost runs under tracemalloc; snapshots after warm-up, at the end of the load"
                             " and after the drain are compared in the result (slows devhost: its RSS and CPU"
                             " are not comparable with a plain run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The load, a drain of at most 2 minutes, 30 idle seconds, and startup: the whole run is bounded.
    write_results(asyncio.run(asyncio.wait_for(run(args), args.minutes * 60 + 300)), args.out)


if __name__ == "__main__":
    main()
