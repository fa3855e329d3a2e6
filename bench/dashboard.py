"""Benchmark of the dashboard on Azurite: the list's first page over 10,000 instances, and one instance
with 1,000 history events, each fetched over HTTP from a dashboard served on 127.0.0.1, beside Azurite's
own round trips measured in the same run.

    .venv/bin/python bench/dashboard.py [--runs 3] [--instances 10000] [--activities 250] [--repeat 5]
                                        [--out bench/results/dashboard.json]

Each run starts its own Azurite and fills one hub: 9,999 instances created through the store (small inputs;
statuses Pending, Running, Completed with an output, Failed, Terminated in turn; no engine runs them, so the
list reads exactly as many rows as there are instances) and one real orchestration run by the engine
(sequential activities, four history events each). Then, per run:

- cold first page: a fresh `python -m devhost dashboard --storage ... --hub ...` process per sample; the
  first request it serves is timed (`GET /_devhost/api/instances?pageSize=50`, the page as it opens:
  newest first, counts per status). Nothing is cached before it;
- warm first page: one dashboard (in this process, reading through its own store object) asked for a
  filter it has not seen yet, so it reads the rows again over warm connections: no filter, status,
  name, id prefix, created range;
- refresh: the list's 2-second refresh of a filter just read (answered from that read);
- the instance with 1,004 events (API and HTML);
- Azurite alone, same hub, same moment: a point query; the 10,000 rows as the list reads them
  (`$select` of the summary columns, plain JSON); only RuntimeStatus (the least any design that counts by
  reading rows, e.g. an index table, must read); and every column through the SDK (how the list read them
  before).
The machine's 1-minute load is recorded at the start and the end of each run's measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import re
import socket
import statistics
import subprocess
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
from devhost.store.azure import create_store, summaries  # noqa: E402
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


STATUSES = [RuntimeStatus.Pending, RuntimeStatus.Running, RuntimeStatus.Completed, RuntimeStatus.Failed,
            RuntimeStatus.Terminated]
PAGE = "api/instances?pageSize=50"


def timings(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 1), "max": round(ordered[-1], 1),
            "min": round(ordered[0], 1), "samples": len(ordered)}


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def populate(store: Any, count: int) -> None:
    """`count` instances with a small input, created through the store, 64 at a time."""
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
        status = STATUSES[i % len(STATUSES)]
        name = "booking" if i % 3 else "trip"
        record = InstanceRecord(iid, name, xid, status, created, created, input=text)
        if status is RuntimeStatus.Completed:
            record.output = json.dumps({"bookingId": iid, "status": "Confirmed", "trips": trips})
            record.completed_time = created
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


def check_page(body: dict[str, Any], instances: int) -> None:
    """The first page is what the list shows: 50 rows newest first and the counts of every instance."""
    assert sum(body["counts"].values()) == instances, body["counts"]
    rows = body["instances"]
    assert len(rows) == 50 and [r["createdTime"] for r in rows] == sorted((r["createdTime"] for r in rows),
                                                                           reverse=True)


async def cold_first_page(connection_string: str, hub: str, instances: int) -> float:
    """Start a dashboard process on the hub and time the first request it serves."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devhost", "dashboard", "--storage", connection_string, "--hub", hub,
         "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            found = re.search(r"Dashboard: (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, f"the dashboard did not start (exit code {proc.poll()})"
        async with aiohttp.ClientSession() as session:
            ms, body = await timed_get(session, url + PAGE)
        check_page(body, instances)
        return ms
    finally:
        proc.terminate()
        proc.wait(10)


async def azurite_alone(connection_string: str, hub: str, long_id: str) -> dict[str, float]:
    """Azurite's own round trips on the hub's Instances table (ms)."""
    out: dict[str, float] = {}
    table_name = HubNames.of(hub, partition_count=1).instances_table
    async with TableClient.from_connection_string(connection_string, table_name) as table:
        t0 = time.perf_counter()
        point = "PartitionKey eq @pk and RowKey eq ''"
        async for _ in table.query_entities(point, parameters={"pk": long_id}):
            pass
        out["point_query"] = (time.perf_counter() - t0) * 1000
        for name, select in (("scan_summary_columns", summaries.SUMMARY_COLUMNS),
                             ("scan_status_only", ("RuntimeStatus",))):
            t0 = time.perf_counter()
            token: dict[str, Any] | None = None
            rows = 0
            while True:
                page, token = await summaries.query_page(table, "RowKey eq ''", 1000, token, select)
                rows += len(page)
                if token is None:
                    break
            out[name] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        async for _ in table.query_entities("RowKey eq ''", results_per_page=1000):
            pass
        out["scan_all_columns_sdk"] = (time.perf_counter() - t0) * 1000
    return out


async def one_run(args: argparse.Namespace, connection_string: str) -> dict[str, Any]:
    hub = "Dash" + uuid.uuid4().hex[:8]
    long_id = await run_long(connection_string, hub, args.activities)
    writer = create_store(connection_string, hub_name=hub)
    await writer.open()
    t0 = time.perf_counter()
    await populate(writer, args.instances - 1)
    populate_s = time.perf_counter() - t0
    await writer.close()
    await asyncio.sleep(2.0)  # let the machine settle after the writes
    load_start = load()

    samples: dict[str, list[float]] = {k: [] for k in (
        "list_first_page_cold_ms", "list_first_page_warm_ms", "list_first_page_warm_unfiltered_ms",
        "list_refresh_ms", "instance_api_ms",
        "instance_html_ms", "azurite_point_query_ms", "azurite_scan_summary_columns_ms",
        "azurite_scan_status_only_ms", "azurite_scan_all_columns_sdk_ms")}
    for _ in range(args.repeat):
        cold = await cold_first_page(connection_string, hub, args.instances)
        samples["list_first_page_cold_ms"].append(cold)
        for name, ms in (await azurite_alone(connection_string, hub, long_id)).items():
            samples[f"azurite_{name}_ms"].append(ms)

    reader = create_store(connection_string, hub_name=hub)
    await reader.open()
    dash = standalone.build_app(reader, hub, allow_actions=False, app_root=None)
    runner = web.AppRunner(dash, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/_devhost/"
    # Filters the dashboard has not read yet (each `from` differs, so none shares an earlier read).
    filters = ["", "&status=Completed", "&name=trip", "&prefix=bench-a", "&status=Running,Pending&name=book"]
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(args.repeat):
                ms, body = await timed_get(session, f"{base}api/instances/{long_id}")
                samples["instance_api_ms"].append(ms)
                events = len(body["history"])
                t0 = time.perf_counter()
                async with session.get(f"{base}instance?id={long_id}") as response:
                    await response.read()
                samples["instance_html_ms"].append((time.perf_counter() - t0) * 1000)
                for j, extra in enumerate(filters):
                    url = f"{base}{PAGE}&from=2000-01-01T00:{i:02d}:{j:02d}Z{extra}"
                    ms, body = await timed_get(session, url)
                    samples["list_first_page_warm_ms"].append(ms)
                    if not extra:
                        samples["list_first_page_warm_unfiltered_ms"].append(ms)
                    # The counts are of the instances the name and prefix filters let through.
                    narrowed = "name=" in extra or "prefix=" in extra
                    assert narrowed or sum(body["counts"].values()) == args.instances, body["counts"]
                    assert body["instances"], url
                    ms, again = await timed_get(session, url)
                    samples["list_refresh_ms"].append(ms)
                    assert again["total"] == body["total"]
                    await asyncio.sleep(1.2)  # past `fresh_for`: no background read runs beside the next
    finally:
        await runner.cleanup()
        await reader.close()
    return {
        "load_average_1m": {"start": load_start, "end": load()},
        "populate_seconds": round(populate_s, 1),
        "history_events": events,
        **{name: timings(values) for name, values in samples.items()},
        "samples_ms": {name: [round(v, 1) for v in values] for name, values in samples.items()},
    }


def summarize(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    names = list(runs[0]["samples_ms"])
    every = {name: timings([v for run in runs for v in run["samples_ms"][name]]) for name in names}
    per_run = [{k: v for k, v in run.items() if k != "samples_ms"} for run in runs]
    return {
        "benchmark": "devhost dashboard on the Azure Storage store (Azurite 3.35.0)",
        **stamp(),
        "config": {"runs": len(runs), "instances": args.instances, "repeat": args.repeat,
                   "history_events": runs[0]["history_events"], "list_page_size": 50},
        "all_runs": every,
        "runs": per_run,
        "samples_ms": [run["samples_ms"] for run in runs],
        "targets_ms": {"list_first_page": 1000, "instance": 1000},
        "note": "list_first_page_cold: the first request of a fresh `devhost dashboard` process; warm: a "
                "filter not read yet, in a dashboard already serving (warm connections); both read the "
                "10,000 rows (summary columns, $select, plain JSON) and count, sort and cut the page. "
                "list_refresh: the 2-second refresh of a filter just read. azurite_*: Azurite alone on the "
                "same table in the same run. See devhost/dashboard/README.md.",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="independent runs, each with its own Azurite")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "dashboard.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = []
    for i in range(args.runs):
        runs.append(run_on_azurite(lambda connection_string: one_run(args, connection_string), 900))
        print(f"run {i + 1}: cold p50 {runs[-1]['list_first_page_cold_ms']['p50']} ms, "
              f"load {runs[-1]['load_average_1m']}", file=sys.stderr, flush=True)
    write_results(summarize(runs, args), args.out)


if __name__ == "__main__":
    main()
