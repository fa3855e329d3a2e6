"""Telemetry costs a booking nothing, even with its exporter down.

    .venv/bin/python bench/telemetry.py [--part all|bookings|journeys] [--bookings 20] [--rounds 2]
                                        [--out bench/results/telemetry.json]

Two parts, each under its own key of the result (a part run alone keeps the other's last result):

bookings: N one-trip bookings through the real processes (the sandbox, and devhost serving function_app.py
on the in-memory task hub), started together and polled until final, once per telemetry setting:

  off        no exporter (the default: no OTEL_* settings)
  refused    OTLP/HTTP to a closed 127.0.0.1 port (every export is refused at once, then retried)
  silent     OTLP/HTTP to a 127.0.0.1 port that accepts connections and never answers (each export waits
             out its 10 s timeout: the worst an endpoint can do)
  receiver   OTLP/HTTP to a working receiver (tests/support/otlp.py), for the spans a booking makes

Each round runs the settings in turn (alternating the order) on a fresh devhost; per setting the result
keeps every round's wall time (first start → last final), the per-booking latency (start → final as seen
by 50 ms polling: p50, p95, max over all rounds), devhost's CPU time over the bookings (user + system,
from /proc: steadier than wall time on a shared machine), and what devhost's telemetry said at exit:
spans exported, dropped (failed exports, full queue) and left unsent (queued or in an export still
retrying when the 2 s exit flush ended).

journeys: the journeys suite (tests/e2e/test_journeys.py: Azurite, the sandbox and devhost of its own) run
once with each of off, refused and silent in the environment its devhost inherits; per setting its wall
time, the CPU time of the run and every process it started (getrusage of children), and pass/fail counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.results_file import stamp, write_results  # noqa: E402
from tests.support.devhost import REPO_ROOT, DevhostProcess  # noqa: E402
from tests.support.otlp import OtlpReceiver  # noqa: E402
from tests.support.sandbox import sandbox_process  # noqa: E402

SETTINGS = ("off", "refused", "silent", "receiver")
JOURNEY_SETTINGS = ("off", "refused", "silent")
JOURNEYS = "tests/e2e/test_journeys.py"
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")
FINAL = {"Confirmed", "Failed", "Cancelled", "Expired"}
_SUMMARY = re.compile(r"telemetry: (\d+) spans exported, (\d+) dropped, (\d+) left unsent at exit")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _silent_port() -> Iterator[int]:
    """A listening socket that is never accepted from: connections complete, nothing ever answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1024)
        yield int(s.getsockname()[1])


def _environment(setting: str, receiver: OtlpReceiver, silent: int) -> dict[str, str]:
    endpoint = {
        "off": None,
        "refused": f"http://127.0.0.1:{_free_port()}",
        "silent": f"http://127.0.0.1:{silent}",
        "receiver": receiver.url,
    }[setting]
    return {} if endpoint is None else {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}


async def _expenses_reported(sandbox_url: str, booking_ids: list[str]) -> None:
    """Wait until every booking's expense report (its last step, after Confirmed shows) reached the
    sandbox: the host is stopped with no booking mid-way, so every run makes the same spans."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as http:
        for booking_id in booking_ids:
            params = {"idempotencyKeyPrefix": f"{booking_id}:expenses"}
            while not (await http.get("/_sandbox/requests", params=params)).json():
                await asyncio.sleep(0.05)


async def _book_all(base_url: str, bookings: int) -> dict[str, Any]:
    body = lambda: {  # noqa: E731
        "traveller": {"name": "Bench Traveller", "email": f"bench+run{uuid.uuid4().hex[:10]}@example.com"},
        "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}],
        "currency": "EUR",
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def one() -> tuple[float, str, str]:
            started = time.perf_counter()
            response = await http.post("/api/bookings", json=body())
            response.raise_for_status()
            booking_id = response.json()["bookingId"]
            while True:
                status = (await http.get(f"/api/bookings/{booking_id}")).json()["status"]
                if status in FINAL:
                    return time.perf_counter() - started, status, booking_id
                await asyncio.sleep(0.05)

        began = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(bookings)))
        wall = time.perf_counter() - began
    return {
        "wall_s": round(wall, 3),
        "latencies_s": [round(latency, 3) for latency, _, _ in results],
        "statuses": sorted({status for _, status, _ in results}),
        "booking_ids": [booking_id for _, _, booking_id in results],
    }


def _run(
    setting: str, sandbox_url: str, sandbox_settings: dict[str, str], env: dict[str, str], bookings: int
) -> dict[str, Any]:
    port = _free_port()
    settings = {
        **sandbox_settings,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TASKHUB_NAME": "Bench" + uuid.uuid4().hex[:10],
        "PAYMENT_TIMEOUT_SECONDS": "60",
        "SUPPLIER_RETRY_FIRST_INTERVAL_MS": "100",
        **env,
    }
    host = DevhostProcess(REPO_ROOT, storage="memory", env=settings, port=port)
    host.start()
    try:
        cpu_before = _cpu_seconds(host.pid)
        result = asyncio.run(_book_all(host.base_url, bookings))
        result["devhost_cpu_s"] = round(_cpu_seconds(host.pid) - cpu_before, 3)
        asyncio.run(_expenses_reported(sandbox_url, result.pop("booking_ids")))
    finally:
        host.stop(timeout=30)
        output = host.output()
        host.close()
    summary = _SUMMARY.search(output)
    result["spans"] = (
        None
        if summary is None
        else dict(zip(("exported", "dropped", "left_unsent"), map(int, summary.groups()), strict=True))
    )
    print(f"{setting:9} wall {result['wall_s']:.2f} s  devhost cpu {result['devhost_cpu_s']:.2f} s  "
          f"spans {result['spans']}", flush=True)
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): what it cost, whatever else ran beside it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    """User + system CPU time of every finished child process (and the children they waited for): what
    a pytest run cost with its Azurite, sandbox and devhost, whatever else ran beside it."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _bookings_part(rounds: int, bookings: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SETTINGS}
    with OtlpReceiver() as receiver, _silent_port() as silent, sandbox_process() as sandbox:
        for round_number in range(rounds):
            order = SETTINGS if round_number % 2 == 0 else tuple(reversed(SETTINGS))
            for setting in order:
                env = _environment(setting, receiver, silent)
                runs[setting].append(_run(setting, sandbox.url, sandbox.app_settings(), env, bookings))
        received = len(receiver.all())

    settings: dict[str, Any] = {}
    for setting, results in runs.items():
        latencies = [latency for r in results for latency in r["latencies_s"]]
        settings[setting] = {
            "wall_s": [r["wall_s"] for r in results],
            "devhost_cpu_s": [r["devhost_cpu_s"] for r in results],
            "latency_p50_s": _quantile(latencies, 0.5),
            "latency_p95_s": _quantile(latencies, 0.95),
            "latency_max_s": max(latencies),
            "statuses": sorted({s for r in results for s in r["statuses"]}),
            "spans": [r["spans"] for r in results],
        }
    off = statistics.median(settings["off"]["wall_s"])
    off_cpu = statistics.median(settings["off"]["devhost_cpu_s"])
    for setting in SETTINGS:
        settings[setting]["wall_vs_off"] = round(statistics.median(settings[setting]["wall_s"]) / off, 3)
        cpu = statistics.median(settings[setting]["devhost_cpu_s"])
        settings[setting]["devhost_cpu_vs_off"] = round(cpu / off_cpu, 3)
    return {
        **stamp(),
        "bookings_per_run": bookings,
        "rounds": rounds,
        "spans_received_by_the_receiver": received,
        "settings": settings,
    }


def _journeys_part() -> dict[str, Any]:
    """The journeys suite once per setting; the exporter setting reaches its devhost through the
    environment (tests/support/devhost.py passes this process's environment on)."""
    settings: dict[str, Any] = {}
    with OtlpReceiver() as receiver, _silent_port() as silent:
        for setting in JOURNEY_SETTINGS:
            env = {**os.environ, **_environment(setting, receiver, silent)}
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", JOURNEYS]
            began, cpu_before = time.perf_counter(), _children_cpu_seconds()
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
            wall = round(time.perf_counter() - began, 3)
            cpu = round(_children_cpu_seconds() - cpu_before, 3)
            summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            counts = {kind: int(n) for n, kind in _PYTEST_COUNT.findall(summary)}
            settings[setting] = {"wall_s": wall, "cpu_s": cpu, "exit_code": done.returncode, **counts}
            print(f"journeys {setting:8} {wall:.1f} s  cpu {cpu:.1f} s  {summary}", flush=True)
    off, off_cpu = settings["off"]["wall_s"], settings["off"]["cpu_s"]
    for setting in JOURNEY_SETTINGS:
        settings[setting]["wall_vs_off"] = round(settings[setting]["wall_s"] / off, 3)
        settings[setting]["cpu_vs_off"] = round(settings[setting]["cpu_s"] / off_cpu, 3)
    return {**stamp(), "suite": JOURNEYS, "settings": settings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("all", "bookings", "journeys"), default="all")
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "telemetry.json"))
    args = parser.parse_args()

    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.exists() else {}
    result = {part: previous[part] for part in ("bookings", "journeys") if part in previous}
    if args.part in ("all", "bookings"):
        result["bookings"] = _bookings_part(args.rounds, args.bookings)
    if args.part in ("all", "journeys"):
        result["journeys"] = _journeys_part()
    write_results(result, out)


if __name__ == "__main__":
    main()
