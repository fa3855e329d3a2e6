"""Benchmark of devhost's Azure Storage task hub on Azurite: Hello5 (five sequential activities) per-step
latency, orchestrations per second, and storage requests per orchestration counted at the HTTP client.

    .venv/bin/python bench/host.py [--sequential 40] [--concurrent 100] [--out bench/results/host.json]

Runs the engine's worker loop in this process over ``devhost.store.azure`` against a private Azurite; bounded
to about two minutes. Step latency = time between consecutive OrchestratorStarted events of one instance
(checkpoint, activity dispatch, activity, response, next episode).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import azure.durable_functions as df  # noqa: E402
import azure.functions as func  # noqa: E402

from bench.results_file import run_on_azurite, stamp, write_results  # noqa: E402
from devhost.app_index import index_app  # noqa: E402
from devhost.clock import SystemClock  # noqa: E402
from devhost.engine.client import DurableClient  # noqa: E402
from devhost.engine.worker import Engine  # noqa: E402
from devhost.history import TERMINAL_STATUSES, RuntimeStatus, parse_ts  # noqa: E402
from devhost.store.azure import AzureStorageStore, create_store  # noqa: E402

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
STEPS = 5


@app.orchestration_trigger(context_name="context")
def hello5(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    out = []
    for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"]:
        out.append((yield context.call_activity("say_hello", city)))
    return out


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


async def wait_done(store: AzureStorageStore, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} orchestrations did not finish in {timeout} s")
        for iid in list(pending):
            record = await store.get_instance(iid)
            if record is not None and record.runtime_status in TERMINAL_STATUSES:
                if record.runtime_status is not RuntimeStatus.Completed:
                    raise RuntimeError(f"{iid} ended {record.runtime_status.name}: {record.output}")
                pending.discard(iid)
        await asyncio.sleep(0.005 if len(pending) == 1 else 0.05)


async def step_latencies(store: AzureStorageStore, iid: str) -> list[float]:
    events = await store.get_history(iid)
    starts = [parse_ts(e["Timestamp"]) for e in events if e["EventType"] == 12]
    return [(b - a).total_seconds() * 1000 for a, b in zip(starts, starts[1:], strict=False)]


async def run(args: argparse.Namespace, connection_string: str) -> dict[str, Any]:
    index = index_app(app)
    hub = "Bench" + uuid.uuid4().hex[:8]
    store = create_store(connection_string, hub_name=hub, partition_count=4, max_polling_interval=30.0)
    await store.open()
    clock = SystemClock()
    engine = Engine(index, store, clock)
    client = DurableClient(store, index, clock, hub_name=hub)
    # Status polling goes through a second store object, so its reads are not counted as the hub's work.
    reader = create_store(connection_string, hub_name=hub)
    await reader.open()
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=30.0, max_concurrent_activities=10))
    try:
        # Warm-up: connections, tables, the SDK's first import paths.
        warm = [await client.start("hello5", None, None) for _ in range(3)]
        await wait_done(reader, warm, 60)

        # Sequential: one orchestration at a time, so each step's latency is unloaded.
        steps: list[float] = []
        totals: list[float] = []
        requests: list[int] = []
        for _ in range(args.sequential):
            before = store.counter.total
            t0 = time.perf_counter()
            iid = await client.start("hello5", None, None)
            await wait_done(reader, [iid], 30)
            totals.append((time.perf_counter() - t0) * 1000)
            requests.append(store.counter.total - before)  # its work, background polls included
            steps += await step_latencies(reader, iid)

        # Concurrent: throughput with many instances in flight.
        t0 = time.perf_counter()
        before = store.counter.snapshot()
        ids = [await client.start("hello5", None, None) for _ in range(args.concurrent)]
        await wait_done(reader, ids, 90)
        elapsed = time.perf_counter() - t0
        after = store.counter.snapshot()
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        engine.close()
        await store.close()
        await reader.close()

    per_orch = statistics.mean(requests)
    return {
        "benchmark": "devhost host: Hello5 on the Azure Storage store (Azurite 3.35.0)",
        **stamp(),
        "config": {
            "sequential_orchestrations": args.sequential,
            "concurrent_orchestrations": args.concurrent,
            "steps_per_orchestration": STEPS,
            "partition_count": 4,
            "max_concurrent_activities": 10,
        },
        "step_latency_ms": {
            "p50": pct(steps, 50),
            "p99": pct(steps, 99),
            "mean": round(statistics.mean(steps), 2),
            "samples": len(steps),
        },
        "orchestration_latency_ms": {"p50": pct(totals, 50), "p99": pct(totals, 99)},
        "orchestrations_per_second": round(args.concurrent / elapsed, 1),
        "storage_requests_per_orchestration": round(per_orch, 1),
        "storage_requests_per_step": round(per_orch / STEPS, 2),
        "concurrent_phase_requests_by_service": {k: after[k] - before[k] for k in after},
        "concurrent_phase_requests_per_orchestration": round(
            sum(after[k] - before[k] for k in after) / args.concurrent, 1
        ),
        "targets": {"step_latency_p50_ms": 20, "storage_requests_per_step": 9},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "host.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    write_results(run_on_azurite(lambda connection_string: run(args, connection_string), 150), args.out)


if __name__ == "__main__":
    main()
