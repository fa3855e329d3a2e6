"""Benchmark of a whole booking as its user waits for it: POST /api/bookings → Confirmed, through the real
HTTP API of devhost (a process) on Azurite, with the sandbox's suppliers answering at once and the payment
webhook sent the moment the payment is requested.

    .venv-bench/bin/python bench/booking.py [--sequential 20] [--concurrent 20] [--waves 2]
                                            [--out bench/results/booking.json]

Measures, in one run: POST→Confirmed p50/p99 for 1 and 3 trips, one at a time and 20 at once; devhost's
storage requests per booking by service (its own counter, through DEVHOST_STORAGE_COUNTS_FILE) beside the
floor the orchestration's structure implies (counted from the stored histories, see bench/README.md);
Azurite's own round trip for queue put/get/delete and a table batch; step p50 / RTT p50. About 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench import timeline as bench_timeline  # noqa: E402
from bench.results_file import stamp, write_results  # noqa: E402
from bench.stack import (  # noqa: E402
    Stack,
    Watcher,
    azurite_rtt,
    book,
    booking_body,
    pct,
    profiled,
    running_stack,
    summary,
)
from devhost.history import EventType, parse_ts  # noqa: E402
from devhost.store import timeline  # noqa: E402
from devhost.store.azure import create_store  # noqa: E402

# How often the benchmark's one status query runs (bench/stack.py Watcher); its storage requests and CPU
# are measured in the same run and taken out of the per-booking figures.
SEQUENTIAL_POLL = 0.02
CONCURRENT_POLL = 0.05
SETTINGS = {
    # A booking takes well under a second here; the app's own retry settings are left as they are.
    "PAYMENT_TIMEOUT_SECONDS": "60",
}


async def phase(stack: Stack, n_trips: int, count: int, concurrency: int, poll: float) -> dict[str, Any]:
    """`count` bookings of `n_trips` trips, `concurrency` at a time; latencies, ids, storage requests."""
    latencies: list[float] = []
    ids: list[str] = []
    windows: list[tuple[str, float, float]] = []  # (booking id, POST, Confirmed seen) in wall-clock seconds
    before = await asyncio.to_thread(stack.settled_counts)
    cpu0 = stack.cpu_seconds()
    by_process0 = stack.cpu_by_process()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    t_start = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        with Watcher(http, stack.api, since, poll) as watcher:

            async def one() -> None:
                t0 = time.perf_counter()
                posted = dt.datetime.now(dt.UTC)
                booking_id = await book(http, stack.api, booking_body(n_trips))
                status, seen = await watcher.final(booking_id, posted)
                latencies.append((seen - t0) * 1000)
                ids.append(booking_id)
                windows.append((booking_id, posted.timestamp(), posted.timestamp() + seen - t0))
                if status != "Confirmed":
                    raise RuntimeError(f"booking {booking_id} ended {status}")

            for start in range(0, count, concurrency):
                await asyncio.gather(*(one() for _ in range(min(concurrency, count - start))))
    wall = time.perf_counter() - t_start
    cpu = stack.cpu_seconds() - cpu0
    by_process = {k: v - by_process0[k] for k, v in stack.cpu_by_process().items()}
    after = await asyncio.to_thread(stack.settled_counts)
    return {
        "trips": n_trips,
        "bookings": count,
        "concurrency": concurrency,
        "post_to_confirmed_ms": summary(latencies),
        "bookings_per_second": round(count / wall, 2),
        "wall_s": round(wall, 2),
        "cpu_s": cpu,
        # Share of one core each process used over the phase (status queries included): a process near
        # 100 % (Azurite is one node.js thread) bounds the phase's throughput.
        "cpu_pct_of_one_core": {k: round(100 * v / wall, 1) for k, v in by_process.items()},
        "load_average_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        "requests": {k: after[k] - before[k] for k in after},
        "status_queries": watcher.queries,
        "status_rows": watcher.rows,
        "since": since,
        "ids": ids,
        "windows": windows,
    }


async def cost_per_query(
    stack: Stack, since: dt.datetime, idle_rps: float, n: int = 30
) -> dict[str, float]:
    """Storage requests (background polls taken out) and devhost CPU seconds of one status query as the
    phases make them, as a fixed part plus a part per instance returned: `n` queries over nothing, then `n`
    over the bookings created since `since` (the last phase's)."""

    async def measure(window: dt.datetime) -> tuple[dict[str, float], float]:
        await asyncio.to_thread(tables_quiet, stack)
        before = await asyncio.to_thread(stack.settled_counts)
        cpu0 = stack.cpu_seconds()
        t0 = time.perf_counter()
        rows = 0
        async with httpx.AsyncClient(timeout=30) as http:
            watcher = Watcher(http, stack.api, window, 0)
            for _ in range(n):
                response = await http.get(watcher.url, params=watcher.params())
                response.raise_for_status()
                rows += len(response.json())
        cpu = stack.cpu_seconds() - cpu0
        elapsed = time.perf_counter() - t0
        after = await asyncio.to_thread(stack.settled_counts)
        background = {"table": 0.0, "queue": idle_rps * elapsed, "blob": 0.0}  # idle polls: queue receives
        per = {k: max(0.0, after[k] - before[k] - background[k]) / n for k in after}
        return {**per, "cpu_s": cpu / n}, rows / n

    empty, _ = await measure(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    full, rows = await measure(since)
    per_row = max(0.0, (full["cpu_s"] - empty["cpu_s"]) / rows) if rows else 0.0
    return {**{k: round(v, 2) for k, v in empty.items() if k != "cpu_s"},
            "cpu_s": round(empty["cpu_s"], 5), "cpu_s_per_instance_returned": round(per_row, 6),
            "measured_with_instances_returned": rows}


def tables_quiet(stack: Stack, quiet: float = 1.1, limit: float = 30.0) -> None:
    """Wait until devhost's table requests stop for `quiet` s: the bookings' work after Confirmed (their
    last activity and episode) is done. The queue count never stops (idle polls), so `settled_counts` alone
    returns while that work still runs, and the status query's cost would be measured with it."""
    last = stack.counts()["table"]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = stack.counts()["table"]
        if now == last:
            return
        last = now


async def idle_requests_per_second(stack: Stack, seconds: float = 3.0) -> float:
    """Background polls of an idle hub (they run during every phase too)."""
    before = await asyncio.to_thread(stack.settled_counts)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(stack.settled_counts)
    return sum(after[k] - before[k] for k in after) / seconds


def net_requests(result: dict[str, Any], per_query: dict[str, float]) -> dict[str, float]:
    """Requests per booking by service, the benchmark's status queries taken out (background polls stay)."""
    n, q = result["bookings"], result["status_queries"]
    return {k: round((v - per_query[k] * q) / n, 1) for k, v in result["requests"].items()}


def query_cpu(result: dict[str, Any], per_query: dict[str, float]) -> float:
    """devhost CPU seconds the phase's status queries cost (fixed part + per instance returned)."""
    return per_query["cpu_s"] * result["status_queries"] + per_query["cpu_s_per_instance_returned"] * result[
        "status_rows"
    ]


def net_cpu(result: dict[str, Any], per_query: dict[str, float]) -> float:
    """devhost CPU seconds per booking, the status queries taken out."""
    return round((result["cpu_s"] - query_cpu(result, per_query)) / result["bookings"], 4)


INBOUND = {EventType.ExecutionStarted, EventType.TaskCompleted, EventType.TaskFailed,
           EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed,
           EventType.TimerFired, EventType.EventRaised}


async def structure(reader: Any, instance_id: str) -> dict[str, Any]:
    """What one booking's orchestrations did, read from their stored histories (sub-orchestrations
    followed): episodes, inbound messages, activities, timers, instances, and the step latencies."""
    out = {"instances": 0, "episodes": 0, "inbound_messages": 0, "activities": 0, "timers": 0,
           "sub_orchestrations": 0, "events_raised": 0, "entity_requests": 0, "entities": 0,
           "history_events": 0}
    steps: list[float] = []
    entities: set[str] = set()
    todo = [instance_id]
    while todo:
        iid = todo.pop()
        events = await reader.get_history(iid)
        out["instances"] += 1
        out["history_events"] += len(events)
        starts = []
        for e in events:
            kind = EventType(e["EventType"])
            if kind is EventType.OrchestratorStarted:
                out["episodes"] += 1
                starts.append(parse_ts(e["Timestamp"]))
            elif kind in INBOUND:
                out["inbound_messages"] += 1
                if kind is EventType.EventRaised:
                    out["events_raised"] += 1
            elif kind is EventType.TaskScheduled:
                out["activities"] += 1
            elif kind is EventType.EventSent:
                out["entity_requests"] += 1  # a call or signal to an entity (the circuit breaker's)
                entities.add(str(e.get("InstanceId")))
            elif kind is EventType.TimerCreated:
                out["timers"] += 1
            elif kind is EventType.SubOrchestrationInstanceCreated:
                out["sub_orchestrations"] += 1
                todo.append(e["InstanceId"])
        steps += [(b - a).total_seconds() * 1000 for a, b in zip(starts, starts[1:], strict=False)]
    out["entities"] = len(entities)
    return {**out, "steps_ms": steps}


def floor(s: dict[str, Any]) -> dict[str, int]:
    """The fewest storage requests a booking of this structure needs (bench/README.md gives the reasons):
    per inbound message a put and a delete (each sent by this process and handed over, no receive); per
    activity a work item put and delete; per episode one history batch and one Instances row write; per
    instance one Instances row write when it starts (the client's insert of the top one, the parent's
    checkpoint's of a sub-orchestration); per entity request (the circuit breaker's calls and signals)
    the request message's put and delete — the answer of a call is an inbound message of the orchestration,
    counted above — and per entity asked at least one episode (its history batch and row write: requests
    that arrive together are one episode)."""
    table = s["episodes"] * 2 + s["instances"] + s["entities"] * 2
    queue = s["inbound_messages"] * 2 + s["activities"] * 2 + s["entity_requests"] * 2
    return {"table": table, "queue": queue, "blob": 0, "total": table + queue}


async def all_phases(stack: Stack, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    return {
        "1 trip, sequential": await phase(stack, 1, args.sequential, 1, SEQUENTIAL_POLL),
        "3 trips, sequential": await phase(stack, 3, args.sequential, 1, SEQUENTIAL_POLL),
        f"1 trip, {args.concurrent} concurrent": await phase(
            stack, 1, args.concurrent * args.waves, args.concurrent, CONCURRENT_POLL
        ),
        f"3 trips, {args.concurrent} concurrent": await phase(
            stack, 3, args.concurrent * args.waves, args.concurrent, CONCURRENT_POLL
        ),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(SETTINGS)
    if args.timeline:
        Path(args.timeline).unlink(missing_ok=True)
        settings[timeline.TIMELINE_FILE_SETTING] = str(Path(args.timeline).resolve())
    with running_stack(settings) as stack:
        rtt_before = await azurite_rtt(stack.azurite.connection_string)
        idle_rps = await idle_requests_per_second(stack)
        # Warm-up: connections, the app's first imports, the first episode of each orchestrator.
        await phase(stack, 3, 3, 1, SEQUENTIAL_POLL)
        with profiled(stack.devhost.pid, args.profile):
            phases = await all_phases(stack, args)

        per_query = await cost_per_query(stack, list(phases.values())[-1]["since"], idle_rps)
        rtt_after = await azurite_rtt(stack.azurite.connection_string)
        reader = create_store(stack.azurite.connection_string, hub_name=stack.hub)
        await reader.open()
        try:
            shapes = {
                name: [await structure(reader, i) for i in p["ids"][:5]] for name, p in phases.items()
            }
        finally:
            await reader.close()
        load = Path("/proc/loadavg").read_text().split()[:3]

    # Azurite's round trip measured before and after the bookings, in the same run: their mean.
    rtt_p50 = round((rtt_before["pooled_p50"] + rtt_after["pooled_p50"]) / 2, 2)
    out_phases: dict[str, Any] = {}
    for name, p in phases.items():
        shape = shapes[name][0]
        minimum = floor(shape)
        net = net_requests(p, per_query)
        total = round(sum(net.values()), 1)
        steps = [v for s in shapes[name] for v in s["steps_ms"]]
        out_phases[name] = {
            **{k: v for k, v in p.items() if k not in ("ids", "requests", "cpu_s", "since", "windows")},
            "devhost_cpu_s_per_booking": net_cpu(p, per_query),
            "devhost_cpu_s_raw": round(p["cpu_s"], 2),
            "devhost_cpu_s_of_status_queries": round(query_cpu(p, per_query), 2),
            "post_to_confirmed_in_rtt": round(p["post_to_confirmed_ms"]["p50"] / rtt_p50, 1),
            "requests_by_service_raw": p["requests"],
            "requests_per_booking_by_service": net,
            "requests_per_booking": total,
            "structure": {k: v for k, v in shape.items() if k != "steps_ms"},
            "structural_floor": minimum,
            "ratio_to_floor": round(total / minimum["total"], 2),
            "step_ms": summary(steps),
            "step_p50_in_rtt": round(pct(steps, 50) / rtt_p50, 1),
        }
    paths = critical_paths(args.timeline, phases) if args.timeline else {}
    return {
        "benchmark": "a whole booking through devhost's HTTP API on Azurite 3.35.0, instant sandbox",
        **stamp(),
        "loadavg_at_end": load,
        "config": {
            "sequential_bookings": args.sequential,
            "concurrent": args.concurrent,
            "waves": args.waves,
            "status_poll_s": {"sequential": SEQUENTIAL_POLL, "concurrent": CONCURRENT_POLL},
            "app_settings": SETTINGS,
        },
        "azurite_rtt_ms": {"before": rtt_before, "after": rtt_after, "p50": rtt_p50},
        "cost_per_status_query": per_query,
        "idle_requests_per_second": round(idle_rps, 2),
        "phases": out_phases,
        **({"critical_path": paths} if paths else {}),
        "targets": {
            "post_to_confirmed_1_trip_p50_in_rtt": 60,
            "post_to_confirmed_1_trip_p50_ms_quiet": 250,
            "ratio_to_floor": 1.2,
            "step_p50_in_rtt": 3,
        },
    }


def critical_paths(path: str, phases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per sequential phase: the mean breakdown of its bookings' windows (bench/timeline.py) and the
    listing of its median booking."""
    rows = bench_timeline.load(path)
    out: dict[str, Any] = {}
    for name, p in phases.items():
        if p["concurrency"] != 1 or not p["windows"]:
            continue
        parts = [bench_timeline.breakdown(rows, a, b) for _, a, b in p["windows"]]
        numeric = [k for k, v in parts[0].items() if isinstance(v, int | float)]
        mean = {k: round(sum(x[k] for x in parts) / len(parts), 1) for k in numeric}
        median = sorted(p["windows"], key=lambda w: w[2] - w[1])[len(p["windows"]) // 2]
        out[name] = {
            "mean": mean,
            "median_booking": {
                **bench_timeline.breakdown(rows, median[1], median[2]),
                "listing": bench_timeline.listing(rows, median[1], median[2]),
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "booking.json"))
    parser.add_argument("--profile", default="", help="py-spy devhost during the phases, raw stacks to FILE")
    parser.add_argument(
        "--timeline", default="", help="devhost writes its timeline to FILE; the result gets each sequential "
        "phase's critical path (bench/timeline.py)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    write_results(asyncio.run(asyncio.wait_for(run(args), 600)), args.out)


if __name__ == "__main__":
    main()
