"""Benchmark of the dashboard on Azurite: the list's first page over 10,000 instances, and one instance
with 1,000 history events, each fetched over HTTP from a dashboard served on 127.0.0.1, beside Azurite's
own round trip for one table query measured in the same run.

    .venv/bin/python bench/dashboard.py [--instances 10000] [--activities 250] [--repeat 5] [--settle 6]
                                        [--out bench/results/dashboard.json]

The 10,000 instances are created through the store (`create_instance`, small inputs, status Pending: no
engine runs them, so the list reads exactly as many rows as there are instances). The 1,000-event instance
is a real orchestration run by the engine: sequential activities, four history events each. The dashboard
reads through a second store object, so nothing is served from the writer's in-process state.
Also timed: the list's 2-second refresh (served from the previous scan), and the instance page's HTML.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import azure.durable_functions as df  # noqa: E402
import azure.functions as func  # noqa: E402
from aiohttp import web  # noqa: E402
from azure.data.tables.aio import TableClient  # noqa: E402

from bench.results_file import run_on_azurite, stamp, write_results  # noqa: E402
from devhost import history as h  # noqa: E402
from devhost.app_index import index_app  # noqa: E402
from devhost.clock import SystemClock  # noqa: E402
from devhost.dashboard import standalone  # noqa: E402
from devhost.engine.client import DurableClient  # noqa: E402
from devhost.engine.worker import Engine  # noqa: E402
from devhost.history import TERMINAL_STATUSES, RuntimeStatus  # noqa: E402
from devhost.store.azure import create_store  # noqa: E402
from devhost.store.azure.keys import HubNames  # noqa: E402
from devhost.store.base import InstanceRecord, OrchestrationMessage  # noqa: E402

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def long_history(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    count = context.get_input()["count"]
    for i in range(count):
        yield context.call_activity("step", i)
    return count


@app.activity_trigger(input_name="i")
def step(i: int) -> int:
    return i


def timings(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 1), "max": round(ordered[-1], 1),
            "min": round(ordered[0], 1), "samples": len(ordered)}


async def populate(store: Any, count: int) -> None:
    """`count` Pending instances with a small input, created through the store, 64 at a time."""
    gate = asyncio.Semaphore(64)
    base = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)

    async def one(i: int) -> None:
        iid = f"bench-{uuid.uuid4().hex}"
        created = base + dt.timedelta(milliseconds=i * 10)
        xid = uuid.uuid4().hex
        trips = [{"conferenceId": "europython-prague-2027", "origin": "BER"}]
        text = json.dumps({"traveller": f"t{i}@example.com", "trips": trips})
        start = h.execution_started(h.format_ts(created), instance_id=iid, execution_id=xid, name="booking",
                                    input_json=text)
        record = InstanceRecord(iid, "booking", xid, RuntimeStatus.Pending, created, created, input=text)
        async with gate:
            message = OrchestrationMessage(iid, start, execution_id=xid)
            await store.create_instance(record, message, replaceable=None)

    await asyncio.gather(*(one(i) for i in range(count)))


async def run_long(connection_string: str, hub: str, activities: int) -> str:
    store = create_store(connection_string, hub_name=hub, max_polling_interval=1.0)
    await store.open()
    index = index_app(app)
    clock = SystemClock()
    engine = Engine(index, store, clock)
    client = DurableClient(store, index, clock, hub_name=hub)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=1.0, max_concurrent_activities=10))
    try:
        iid = await client.start("long_history", "bench-long-history", json.dumps({"count": activities}))
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            record = await store.get_instance(iid)
            if record is not None and record.runtime_status in TERMINAL_STATUSES:
                break
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("the long orchestration did not finish in 240 s")
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        engine.close()
        await store.close()
    return iid


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    async with session.get(url) as response:
        body = await response.json()
        assert response.status == 200, body
    return (time.perf_counter() - t0) * 1000, body


async def run(args: argparse.Namespace, connection_string: str) -> dict[str, Any]:
    hub = "Dash" + uuid.uuid4().hex[:8]
    long_id = await run_long(connection_string, hub, args.activities)
    writer = create_store(connection_string, hub_name=hub)
    await writer.open()
    t0 = time.perf_counter()
    await populate(writer, args.instances - 1)
    populate_s = time.perf_counter() - t0
    await writer.close()

    reader = create_store(connection_string, hub_name=hub)
    await reader.open()
    dash = standalone.build_app(reader, hub, allow_actions=False, app_root=None)
    runner = web.AppRunner(dash, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/_devhost"
    list_ms: list[float] = []
    refresh_ms: list[float] = []
    instance_ms: list[float] = []
    page_ms: list[float] = []
    azurite_ms: list[float] = []
    try:
        async with aiohttp.ClientSession() as session, TableClient.from_connection_string(
            connection_string, HubNames.of(hub, partition_count=1).instances_table
        ) as table:
            # Measured apart: a list refresh starts a background scan, which would slow whatever ran
            # beside it.
            for _ in range(args.repeat):
                ms, body = await timed_get(session, f"{base}/api/instances/{long_id}")
                instance_ms.append(ms)
                events = len(body["history"])
                t0 = time.perf_counter()
                async with session.get(f"{base}/instance?id={long_id}") as response:
                    await response.read()
                page_ms.append((time.perf_counter() - t0) * 1000)
                # Azurite's own round trip: one point query on the same table, same run.
                t0 = time.perf_counter()
                async for _ in table.query_entities("PartitionKey eq @pk and RowKey eq ''",
                                                    parameters={"pk": long_id}):
                    pass
                azurite_ms.append((time.perf_counter() - t0) * 1000)
            for i in range(args.repeat):
                # A filter not seen before (a `from` long before every instance) has no scan to share:
                # the first page waits for a full scan. Then the list's own 2-second refresh, which is
                # answered from that scan while the next one runs.
                url = f"{base}/api/instances?pageSize=50&from=2000-01-01T00:00:0{i}Z"
                ms, body = await timed_get(session, url)
                list_ms.append(ms)
                assert body["total"] == args.instances and len(body["instances"]) == 50, body["total"]
                await asyncio.sleep(2.0)
                ms, body = await timed_get(session, url)
                refresh_ms.append(ms)
                assert body["total"] == args.instances
                await asyncio.sleep(args.settle)  # the refresh's background scan ends before the next
    finally:
        await runner.cleanup()
        await reader.close()

    return {
        "benchmark": "devhost dashboard on the Azure Storage store (Azurite 3.35.0)",
        **stamp(),
        "config": {"instances": args.instances, "history_events": events, "repeat": args.repeat,
                   "list_page_size": 50, "populate_seconds": round(populate_s, 1)},
        "list_first_page_ms": timings(list_ms),
        "list_refresh_ms": timings(refresh_ms),
        "instance_api_ms": timings(instance_ms),
        "instance_html_ms": timings(page_ms),
        "azurite_point_query_ms": timings(azurite_ms),
        "targets_ms": {"list_first_page": 1000, "instance": 1000},
        "note": "list_first_page: a filter with no scan to share, so every instance row is read (the store "
                "pages by instance id and has no count); list_refresh: the page's 2-second refresh, answered "
                "from the previous scan while the next runs. See devhost/dashboard/README.md.",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds between list samples")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "dashboard.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    write_results(run_on_azurite(lambda connection_string: run(args, connection_string), 600), args.out)


if __name__ == "__main__":
    main()
