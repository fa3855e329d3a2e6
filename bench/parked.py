"""Parked at scale: N bookings waiting for their payment, what they cost devhost while nobody pays, then
all paid at once.

    .venv-bench/bin/python bench/parked.py [--bookings 500] [--idle 60] [--memory] [--no-pay]
                                           [--tracemalloc DIR [--frames 25]]
                                           [--out bench/results/parked-N.json]

Bookings of one trip whose traveller never pays (the sandbox's `+nopay` tag: no webhook is sent) are
started 20 at a time through the HTTP API; once every one shows AwaitingPayment with its payment id and
the hub is quiet, devhost's RSS, CPU and storage requests are sampled over `--idle` seconds; then a
`payment.succeeded` webhook for every booking is sent at once (the sandbox's manual webhook endpoint) and
the time until all are Confirmed is measured, beside the bound Azurite's request rate sets
(requests/s Azurite sustains, measured in the same run, divided by the requests a booking's payment
costs). `--memory`: devhost on its in-memory store instead (no storage figures). `--tracemalloc DIR`: what
holds devhost's memory once all are parked, seen from inside devhost (bench/tracemalloc_hook): tracemalloc's
top lines and call paths (`--frames N`), or with `--frames 0` pymalloc's arenas, RSS after malloc_trim and the
bytes reachable from each long-lived holder (memory store parts, episode cache, SDK timestamp cache).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from azure.data.tables.aio import TableServiceClient  # noqa: E402

from bench.results_file import stamp, write_results  # noqa: E402
from bench.stack import Stack, book, booking_body, booking_status, running_stack  # noqa: E402

SETTINGS = {"PAYMENT_TIMEOUT_SECONDS": "3600"}
CONCURRENT_STARTS = 20
LIST_EVERY = 4.0  # seconds between two list queries while waiting for all bookings to reach a state


async def list_bookings(http: httpx.AsyncClient, api: str, since: dt.datetime) -> list[dict[str, Any]]:
    """Every booking's management status created since `since` (all pages; the bookings' trip
    sub-orchestrations, `bk_…:trip:N`, share the prefix and are left out)."""
    url = f"{api}/runtime/webhooks/durabletask/instances"
    params = {"instanceIdPrefix": "bk_", "showInput": "false", "top": "1000",
              "createdTimeFrom": since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    out: list[dict[str, Any]] = []
    token = ""
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = await http.get(url, params=params, headers=headers)
        response.raise_for_status()
        out += [b for b in response.json() if ":" not in str(b["instanceId"])]
        token = response.headers.get("x-ms-continuation-token", "")
        if not token:
            return out


def payment_id(body: dict[str, Any]) -> str | None:
    custom = body.get("customStatus")
    if isinstance(custom, dict) and custom.get("status") == "AwaitingPayment":
        payment = custom.get("payment") or {}
        return payment.get("paymentId") or None
    return None


async def azurite_requests_per_second(connection_string: str, seconds: float = 3.0) -> float:
    """What Azurite sustains here: 20 clients reading one entity back to back (point queries)."""
    name = "rate" + str(int(time.time()))
    async with TableServiceClient.from_connection_string(connection_string) as tables:
        table = tables.get_table_client(name)
        await table.create_table()
        await table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Value": "x" * 400})
        done = 0
        end = time.perf_counter() + seconds

        async def reader() -> None:
            nonlocal done
            while time.perf_counter() < end:
                await table.get_entity("p", "r")
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(20)))
        elapsed = time.perf_counter() - t0
        await table.delete_table()
    return done / elapsed


def tracemalloc_settings(out_dir: str, frames: int, trim: bool) -> dict[str, str]:
    """devhost's environment for `--tracemalloc`: the hook that starts tracing and writes snapshots on a
    signal (`bench/tracemalloc_hook/sitecustomize.py`), for devhost only — the sandbox is not measured."""
    return {"DEVHOST_TRACEMALLOC_FRAMES": str(frames), "DEVHOST_TRACEMALLOC_TRIM": "1" if trim else "",
            "DEVHOST_TRACEMALLOC_DUMP": str(Path(out_dir).resolve() / "devhost.snapshot"),
            "PYTHONPATH": str(REPO / "bench" / "tracemalloc_hook")}


async def snapshot(stack: Stack, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Ask devhost for a tracemalloc snapshot (SIGUSR2), keep it as `<dir>/<name>.snapshot` and return its
    summary (traced bytes beside RSS) with the lines and the call paths that hold the most."""
    dump = Path(args.tracemalloc).resolve() / "devhost.snapshot"
    for f in (dump, Path(str(dump) + ".json")):
        f.unlink(missing_ok=True)
    os.kill(stack.devhost.pid, signal.SIGUSR2)
    done = Path(str(dump) + ".json")
    deadline = time.monotonic() + 600
    while not done.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("devhost wrote no tracemalloc snapshot")
        await asyncio.sleep(0.5)
    summary: dict[str, Any] = json.loads(done.read_text())
    if not args.frames:
        return summary  # not traced: RSS, pymalloc's arenas and RSS after malloc_trim only
    kept = dump.with_name(f"{name}.snapshot")
    os.replace(dump, kept)
    snap = await asyncio.to_thread(tracemalloc.Snapshot.load, str(kept))
    snap = snap.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    summary["top_lines"] = [f"{s.size / 1e6:8.2f} MB {s.count:8d} blocks  {s.traceback[0]}"
                            for s in snap.statistics("lineno")[:25]]
    summary["top_paths"] = [
        {"mb": round(s.size / 1e6, 2), "blocks": s.count,
         "path": [str(f) for f in s.traceback if "site-packages" not in f.filename][-8:]}
        for s in snap.statistics("traceback")[:15]
    ]
    return summary


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(SETTINGS)
    if args.tracemalloc:
        Path(args.tracemalloc).mkdir(parents=True, exist_ok=True)
        # RSS after malloc_trim only when nothing is measured after the parked snapshot (--no-pay)
        settings.update(tracemalloc_settings(args.tracemalloc, args.frames, trim=args.no_pay))
    with running_stack(settings, memory=args.memory) as stack:
        result = await parked(stack, args)
    return {
        "benchmark": f"{args.bookings} bookings parked on their payment, devhost on "
        + ("the memory store" if args.memory else "Azurite 3.35.0"),
        **stamp(),
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "config": {"bookings": args.bookings, "idle_s": args.idle, "memory_store": args.memory,
                   "app_settings": SETTINGS, "tracemalloc_frames": args.frames if args.tracemalloc else 0},
        **result,
        "targets": {"idle_cpu_pct_of_one_core": 3, "rss_mb_10000_parked_memory": 300},
    }


async def parked(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    rss_empty = stack.rss_mb()
    traced: dict[str, Any] = {}
    if args.tracemalloc:
        os.kill(stack.devhost.pid, signal.SIGUSR1)  # trace from here: a snapshot holds what parking added
        await asyncio.sleep(1)
    async with httpx.AsyncClient(timeout=60) as http:
        t0 = time.perf_counter()
        sem = asyncio.Semaphore(CONCURRENT_STARTS)

        async def start() -> None:
            async with sem:
                await book(http, stack.api, booking_body(1, "nopay"))

        await asyncio.gather(*(start() for _ in range(args.bookings)))
        posted = time.perf_counter() - t0
        # Until every booking waits for its payment (its payment requested, its timer set). Each list query
        # returns every booking and costs devhost ~0.2 ms of CPU per booking: polled every few seconds only.
        deadline = time.monotonic() + 600 + args.bookings
        while True:
            bodies = await list_bookings(http, stack.api, since)
            payments = {str(b["instanceId"]): payment_id(b) for b in bodies}
            if len(payments) >= args.bookings and all(payments.values()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sum(1 for p in payments.values() if p)} of {args.bookings} parked")
            await asyncio.sleep(LIST_EVERY)
        parked_after = time.perf_counter() - t0
        await asyncio.to_thread(stack.settled_counts)
        await asyncio.sleep(5)  # last checkpoint tails and deletes

        # Idle: nobody pays.
        load_idle = float(Path("/proc/loadavg").read_text().split()[0])
        counts0, cpu0, rss0 = sum(stack.counts().values()), stack.cpu_seconds(), stack.rss_mb()
        await asyncio.sleep(args.idle)
        counts1, cpu1, rss1 = sum(stack.counts().values()), stack.cpu_seconds(), stack.rss_mb()
        idle_cpu_pct = (cpu1 - cpu0) / args.idle * 100
        idle = {
            "start_s": {"posted": round(posted, 1), "all_parked": round(parked_after, 1)},
            "rss_mb": {"empty_host": round(rss_empty, 1), "parked_idle_start": round(rss0, 1),
                       "parked_idle_end": round(rss1, 1),
                       "per_parked_booking_kb": round((rss1 - rss_empty) * 1024 / args.bookings, 1)},
            "idle": {"seconds": args.idle, "load_average_1m_at_start": load_idle,
                     "cpu_pct_of_one_core": round(idle_cpu_pct, 2),
                     "storage_requests_per_s": round((counts1 - counts0) / args.idle, 2)},
        }
        if args.tracemalloc:
            traced["parked"] = await snapshot(stack, args, "parked")
            idle["tracemalloc"] = traced
        if args.no_pay:
            return idle

        # Everyone pays at once: the sandbox sends each booking's payment.succeeded webhook.
        rate = None if args.memory else await azurite_requests_per_second(stack.azurite.connection_string)
        before_pay = await asyncio.to_thread(stack.settled_counts)
        cpu_pay0 = stack.cpu_seconds()
        t_pay = time.perf_counter()
        sem = asyncio.Semaphore(50)

        async def pay(pid: str) -> None:
            async with sem:
                url = f"{stack.sandbox.url}/_sandbox/payments/{pid}/webhooks"
                response = await http.post(url, json={"type": "payment.succeeded"})
                response.raise_for_status()

        await asyncio.gather(*(pay(p) for p in payments.values() if p))
        sent = time.perf_counter() - t_pay
        while True:
            bodies = await list_bookings(http, stack.api, since)
            statuses = [booking_status(b) for b in bodies]
            if sum(s == "Confirmed" for s in statuses) >= args.bookings:
                break
            if time.perf_counter() - t_pay > 900 + args.bookings:
                raise TimeoutError(f"{statuses.count('Confirmed')} of {args.bookings} confirmed")
            await asyncio.sleep(LIST_EVERY / 2)
        all_confirmed = time.perf_counter() - t_pay
        cpu_pay = stack.cpu_seconds() - cpu_pay0
        load_pay = float(Path("/proc/loadavg").read_text().split()[0])
        after_pay = await asyncio.to_thread(stack.settled_counts)
        rss_done = stack.rss_mb()
    pay_requests = sum(after_pay.values()) - sum(before_pay.values())
    per_booking = pay_requests / args.bookings
    out: dict[str, Any] = {
        **idle,
        "pay_all": {
            "load_average_1m_at_end": load_pay,
            "rss_mb_all_confirmed": round(rss_done, 1),
            "webhooks_sent_s": round(sent, 1),
            "all_confirmed_s": round(all_confirmed, 1),
            "bookings_per_s": round(args.bookings / all_confirmed, 1),
            "devhost_cpu_s_per_booking": round(cpu_pay / args.bookings, 4),
        },
    }
    if not args.memory and rate:
        out["pay_all"].update({
            "storage_requests_per_booking": round(per_booking, 1),
            "azurite_requests_per_s_measured": round(rate, 0),
            "bound_bookings_per_s": round(rate / per_booking, 1),
        })
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--memory", action="store_true", help="devhost on its in-memory store")
    parser.add_argument("--no-pay", action="store_true", help="stop after the idle part (nobody pays)")
    parser.add_argument("--out", default="")
    parser.add_argument("--tracemalloc", default="", metavar="DIR",
                        help="devhost's memory from inside once parked: snapshot and summary in DIR")
    parser.add_argument("--frames", type=int, default=25,
                        help="frames per allocation (--tracemalloc; 0: no tracing, RSS and arenas only)")
    args = parser.parse_args()
    name = f"parked-memory-{args.bookings}.json" if args.memory else f"parked-{args.bookings}.json"
    out = args.out or str(REPO / "bench" / "results" / name)
    logging.basicConfig(level=logging.WARNING)
    write_results(asyncio.run(asyncio.wait_for(run(args), 3600 + 3 * args.bookings)), out)


if __name__ == "__main__":
    main()
