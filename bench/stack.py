"""The whole service for the booking benchmarks: a private Azurite, the supplier sandbox answering at once
(no latency, no faults, the payment resolved and its webhook sent the moment it is requested) and
`python -m devhost start` serving function_app.py on a fresh task hub — each a real process on 127.0.0.1,
stopped by its own pid when the block ends.

Also what the benchmarks measure with: devhost's storage request counts (the file devhost keeps when
DEVHOST_STORAGE_COUNTS_FILE is set), its RSS and CPU time from /proc, and Azurite's own round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from azure.data.tables import TableTransactionError
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueServiceClient

from tests.support.azurite import Azurite, azurite_process
from tests.support.devhost import REPO_ROOT, DevhostProcess
from tests.support.sandbox import SandboxProcess, sandbox_process

FINAL = {"Confirmed", "Failed", "Cancelled", "Expired"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    azurite: Azurite
    sandbox: SandboxProcess
    devhost: DevhostProcess
    counts_file: Path
    hub: str

    @property
    def api(self) -> str:
        return self.devhost.base_url

    def counts(self) -> dict[str, int]:
        """devhost's storage requests so far, by service (the file lags by at most 0.5 s)."""
        try:
            return dict(json.loads(self.counts_file.read_text()))
        except (OSError, ValueError):
            return {"table": 0, "queue": 0, "blob": 0}

    def settled_counts(self, quiet: float = 1.1) -> dict[str, int]:
        """The counts once they stopped moving for `quiet` s (background polls aside, the hub is idle)."""
        last = self.counts()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.counts()
            if now == last:
                return now
            last = now
        return last

    def cpu_seconds(self) -> float:
        """devhost's user + system CPU time (its threads included)."""
        return process_cpu_seconds(self.devhost.pid)

    def cpu_by_process(self) -> dict[str, float]:
        """CPU seconds so far of each process of the stack: what saturates first when bookings queue up."""
        return {"devhost": process_cpu_seconds(self.devhost.pid),
                "azurite": process_cpu_seconds(self.azurite.pid),
                "sandbox": process_cpu_seconds(self.sandbox.pid)}

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.devhost.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextlib.contextmanager
def profiled(pid: int, out: str | None, rate: int = 50) -> Iterator[None]:
    """py-spy samples process `pid` while the block runs (only the thread holding the GIL: where its CPU
    goes; nothing if `out` is empty) and writes the stacks in py-spy's raw (collapsed) format to `out`;
    `bench/profile_top.py` summarises such a file."""
    if not out:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("py-spy is not installed (requirements-dev.txt pins it)")
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking", "--gil",
         "--output", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_stack(settings: Mapping[str, str] | None = None, memory: bool = False) -> Iterator[Stack]:
    """Azurite + sandbox + devhost (on Azurite, or on the memory store with `memory`)."""
    with contextlib.ExitStack() as stack:
        azurite = stack.enter_context(azurite_process())
        sandbox = stack.enter_context(sandbox_process())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        counts_file = tmp / "storage-requests.json"
        port = free_port()
        hub = "Bench" + uuid.uuid4().hex[:10]
        env = {
            **sandbox.app_settings(),
            "AzureWebJobsStorage": azurite.connection_string,
            "TASKHUB_NAME": hub,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "DEVHOST_STORAGE_COUNTS_FILE": str(counts_file),
            **(settings or {}),
        }
        storage = "memory" if memory else azurite.connection_string
        host = DevhostProcess(REPO_ROOT, storage=storage, env=env, port=port)
        stack.callback(host.close)
        host.start()
        with httpx.Client(timeout=10) as http:
            # Suppliers answer at once and the payment's webhook goes out the moment it is requested.
            http.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()
            http.put(f"{sandbox.url}/_sandbox/webhook-mode", json={"mode": "normal"}).raise_for_status()
        yield Stack(azurite, sandbox, host, counts_file, hub)


def trips(n: int) -> list[dict[str, Any]]:
    catalog = [
        ("serverlessdays-amsterdam-2027", "BER", True),
        ("europython-prague-2027", "LHR", True),
        ("ndc-oslo-2027", "MAD", False),
    ]
    return [{"conferenceId": c, "origin": o, "hotel": h} for c, o, h in catalog[:n]]


def booking_body(n_trips: int, tags: str = "") -> dict[str, Any]:
    run = uuid.uuid4().hex[:12]
    email = f"ada+{tags}+run{run}@example.com" if tags else f"ada+run{run}@example.com"
    return {"traveller": {"name": "Ada Lovelace", "email": email}, "trips": trips(n_trips), "currency": "EUR"}


async def book(http: httpx.AsyncClient, api: str, body: dict[str, Any]) -> str:
    response = await http.post(f"{api}/api/bookings", json=body)
    if response.status_code != 202:
        raise RuntimeError(f"POST /api/bookings answered {response.status_code}: {response.text[:300]}")
    return str(response.json()["bookingId"])


def booking_status(body: dict[str, Any]) -> str | None:
    """The booking's status in a management API status body: its output once done, else its custom status
    (the view the app's GET /api/bookings/{id} shows)."""
    for part in (body.get("output"), body.get("customStatus")):
        if isinstance(part, dict) and part.get("status"):
            return str(part["status"])
    return None


class Watcher:
    """When each booking first shows a final status, seen by ONE list query of the management API every
    `poll` s for all bookings created since `since` — not one GET per waiting booking: twenty clients each
    polling their booking would cost the host more CPU and storage requests than the bookings do."""

    def __init__(self, http: httpx.AsyncClient, api: str, since: dt.datetime, poll: float) -> None:
        self._http = http
        self.url = f"{api}/runtime/webhooks/durabletask/instances"
        self._since = since
        self._params = {"instanceIdPrefix": "bk_", "showInput": "false", "top": "1000"}
        self._started: dict[str, dt.datetime] = {}
        self._poll = poll
        self._waiting: dict[str, asyncio.Future[tuple[str, float]]] = {}
        self.queries = 0  # HTTP requests made
        self.rows = 0  # instances those requests returned in all
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> Watcher:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def _future(self, booking_id: str) -> asyncio.Future[tuple[str, float]]:
        if booking_id not in self._waiting:
            self._waiting[booking_id] = asyncio.get_running_loop().create_future()
        return self._waiting[booking_id]

    def params(self) -> dict[str, str]:
        """Only what was created since the oldest booking still waiting (a second of clock slack)."""
        waiting = [self._started[i] for i, f in self._waiting.items() if not f.done() and i in self._started]
        since = min(waiting, default=self._since) - dt.timedelta(seconds=1)
        return {**self._params, "createdTimeFrom": since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}

    async def final(self, booking_id: str, posted: dt.datetime, timeout: float = 180) -> tuple[str, float]:
        """(final status, perf_counter time it was first seen) of a booking POSTed at `posted`."""
        self._started[booking_id] = posted
        return await asyncio.wait_for(asyncio.shield(self._future(booking_id)), timeout)

    async def _run(self) -> None:
        while True:
            if any(not f.done() for f in self._waiting.values()):
                token = ""
                while True:
                    headers = {"x-ms-continuation-token": token} if token else {}
                    response = await self._http.get(self.url, params=self.params(), headers=headers)
                    self.queries += 1
                    seen = time.perf_counter()
                    response.raise_for_status()
                    bodies = response.json()
                    self.rows += len(bodies)
                    for body in bodies:
                        status = booking_status(body)
                        if status in FINAL:
                            future = self._future(str(body["instanceId"]))
                            if not future.done():
                                future.set_result((str(status), seen))
                    token = response.headers.get("x-ms-continuation-token", "")
                    if not token:
                        break
            await asyncio.sleep(self._poll)


async def wait_final(
    http: httpx.AsyncClient, api: str, booking_id: str, poll: float, timeout: float = 120
) -> tuple[str, int]:
    """(final status, number of status GETs made): one waiting client polling its own booking."""
    deadline = time.monotonic() + timeout
    gets = 0
    url = f"{api}/runtime/webhooks/durabletask/instances/{booking_id}?showInput=false"
    while time.monotonic() < deadline:
        response = await http.get(url)
        gets += 1
        if response.status_code in (200, 202):
            status = booking_status(response.json())
            if status in FINAL:
                return str(status), gets
        await asyncio.sleep(poll)
    raise TimeoutError(f"booking {booking_id} not final within {timeout} s")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "mean": round(statistics.mean(values), 2),
            "n": len(values)}


async def azurite_rtt(connection_string: str, samples: int = 40) -> dict[str, Any]:
    """Azurite's own round trip, sequential, for the requests a step makes: queue put / get / delete and
    a table batch of two entities (history row + sentinel), on a queue and table of their own."""
    name = "rtt" + uuid.uuid4().hex[:10]
    times: dict[str, list[float]] = {"queue_put": [], "queue_get": [], "queue_delete": [], "table_batch": []}
    async with (
        QueueServiceClient.from_connection_string(connection_string) as queues,
        TableServiceClient.from_connection_string(connection_string) as tables,
    ):
        queue = queues.get_queue_client(name)
        table = tables.get_table_client(name)
        await queue.create_queue()
        await table.create_table()
        try:
            for i in range(samples + 3):  # the first three warm the connections up
                t0 = time.perf_counter()
                await queue.send_message("x" * 600, visibility_timeout=0)
                t1 = time.perf_counter()
                pages = queue.receive_messages(messages_per_page=32, visibility_timeout=30).by_page()
                got = [m async for m in await pages.__anext__()]
                t2 = time.perf_counter()
                for m in got:
                    await queue.delete_message(m.id, m.pop_receipt)
                t3 = time.perf_counter()
                ops = [
                    ("upsert", {"PartitionKey": "p", "RowKey": f"{i:08d}", "EventType": "TaskCompleted",
                                "Result": "y" * 400}),
                    ("upsert", {"PartitionKey": "p", "RowKey": "sentinel", "Journal": "z" * 400}),
                ]
                try:
                    await table.submit_transaction(ops)  # type: ignore[arg-type]
                except TableTransactionError as exc:
                    raise RuntimeError(f"table batch failed: {exc}") from None
                t4 = time.perf_counter()
                if i >= 3 and len(got) == 1:
                    times["queue_put"].append((t1 - t0) * 1000)
                    times["queue_get"].append((t2 - t1) * 1000)
                    times["queue_delete"].append((t3 - t2) * 1000)
                    times["table_batch"].append((t4 - t3) * 1000)
        finally:
            await queue.delete_queue()
            await table.delete_table()
    pooled = [v for vs in times.values() for v in vs]
    return {**{k: summary(v) for k, v in times.items()}, "pooled_p50": pct(pooled, 50)}
