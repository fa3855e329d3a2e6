"""Telemetry costs a booking nothing, even with its exporter down.

    .venv/bin/python bench/telemetry.py [--bookings 20] [--rounds 2] [--out bench/results/telemetry.json]

N one-trip bookings through the real processes (the sandbox, and devhost serving function_app.py on the
in-memory task hub), started together and polled until final, once per telemetry setting, in one run:

  off        no exporter (the default: no OTEL_* settings)
  refused    OTLP/HTTP to a closed 127.0.0.1 port (every export is refused at once, then retried)
  silent     OTLP/HTTP to a 127.0.0.1 port that accepts connections and never answers (each export waits
             out its 10 s timeout: the worst an endpoint can do)
  receiver   OTLP/HTTP to a working receiver (tests/support/otlp.py), for the spans a booking makes

Each round runs the settings in turn (alternating the order) on a fresh devhost; per setting the result
keeps every round's wall time (first start → last final), the per-booking latency (start → final as seen
by 50 ms polling: p50, p95, max over all rounds), and what devhost's telemetry said at exit: spans
exported, dropped (failed exports, full queue) and left unsent.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
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


async def _book_all(base_url: str, bookings: int) -> dict[str, Any]:
    body = lambda: {  # noqa: E731
        "traveller": {"name": "Bench Traveller", "email": f"bench+run{uuid.uuid4().hex[:10]}@example.com"},
        "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}],
        "currency": "EUR",
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def one() -> tuple[float, str]:
            started = time.perf_counter()
            response = await http.post("/api/bookings", json=body())
            response.raise_for_status()
            booking_id = response.json()["bookingId"]
            while True:
                status = (await http.get(f"/api/bookings/{booking_id}")).json()["status"]
                if status in FINAL:
                    return time.perf_counter() - started, status
                await asyncio.sleep(0.05)

        began = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(bookings)))
        wall = time.perf_counter() - began
    return {
        "wall_s": round(wall, 3),
        "latencies_s": [round(latency, 3) for latency, _ in results],
        "statuses": sorted({status for _, status in results}),
    }


def _run(
    setting: str, sandbox_settings: dict[str, str], env: dict[str, str], bookings: int
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
        result = asyncio.run(_book_all(host.base_url, bookings))
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
    print(f"{setting:9} wall {result['wall_s']:.2f} s  spans {result['spans']}", flush=True)
    return result


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "telemetry.json"))
    args = parser.parse_args()

    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SETTINGS}
    with OtlpReceiver() as receiver, _silent_port() as silent, sandbox_process() as sandbox:
        for round_number in range(args.rounds):
            order = SETTINGS if round_number % 2 == 0 else tuple(reversed(SETTINGS))
            for setting in order:
                env = _environment(setting, receiver, silent)
                runs[setting].append(_run(setting, sandbox.app_settings(), env, args.bookings))
        received = len(receiver.all())

    settings: dict[str, Any] = {}
    for setting, results in runs.items():
        latencies = [latency for r in results for latency in r["latencies_s"]]
        settings[setting] = {
            "wall_s": [r["wall_s"] for r in results],
            "latency_p50_s": _quantile(latencies, 0.5),
            "latency_p95_s": _quantile(latencies, 0.95),
            "latency_max_s": max(latencies),
            "statuses": sorted({s for r in results for s in r["statuses"]}),
            "spans": [r["spans"] for r in results],
        }
    off = statistics.median(settings["off"]["wall_s"])
    for setting in SETTINGS:
        settings[setting]["wall_vs_off"] = round(statistics.median(settings[setting]["wall_s"]) / off, 3)
    write_results(
        {
            **stamp(),
            "bookings_per_run": args.bookings,
            "rounds": args.rounds,
            "spans_received_by_the_receiver": received,
            "settings": settings,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
