"""`make run`: Azurite, the supplier sandbox and devhost on their usual ports, started and stopped together.

Each process is started, then waited on until it answers over HTTP; Ctrl-C (or SIGTERM) stops all three
by process id, newest first, so no state is written after its storage has gone away.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AZURITE_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
SANDBOX_PORT = 7080
DEVHOST_PORT = 7071
READY_SECONDS = 60.0


def answers(url: str) -> bool:
    """True once an HTTP server answers at url; any status counts, we only need it to be serving."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wait_until_answers(name: str, url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not answers(url):
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode} before it answered at {url}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not answer at {url} within {READY_SECONDS:.0f} s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    state = ROOT / ".azurite"
    state.mkdir(exist_ok=True)
    # The sandbox signs payment webhooks with the app's own secret: give it the app's local settings,
    # with the environment winning, as `func start` and devhost do.
    settings = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    env = {**settings, **os.environ}
    started: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, cmd: list[str], url: str) -> None:
        # Own process group: the Ctrl-C of the terminal reaches this supervisor only, which then stops
        # the children in order instead of all at once.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        started[name] = proc
        wait_until_answers(name, url, proc)
        print(f"  {name:<8} {url}  (pid {proc.pid})", flush=True)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("Starting Azurite, the supplier sandbox and devhost …", flush=True)
        start(
            "azurite",
            [
                str(ROOT / "node_modules" / ".bin" / "azurite"),
                # No telemetry leaves the machine; accept the current storage SDKs' API versions.
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
                "--location",
                str(state),
                "--blobHost",
                "127.0.0.1",
                "--queueHost",
                "127.0.0.1",
                "--tableHost",
                "127.0.0.1",
                "--blobPort",
                str(AZURITE_PORTS["blob"]),
                "--queuePort",
                str(AZURITE_PORTS["queue"]),
                "--tablePort",
                str(AZURITE_PORTS["table"]),
            ],  # fmt: skip
            f"http://127.0.0.1:{AZURITE_PORTS['blob']}/",
        )
        start(
            "sandbox",
            [PYTHON, "-m", "sandbox", "--port", str(SANDBOX_PORT), "--db", str(state / "sandbox.sqlite3")],
            f"http://127.0.0.1:{SANDBOX_PORT}/openapi.json",
        )
        start(
            "devhost",
            [PYTHON, "-m", "devhost", "start", "--app-root", str(ROOT), "--port", str(DEVHOST_PORT)],
            f"http://127.0.0.1:{DEVHOST_PORT}/api/health",
        )
        print(
            f"""
Ready. The booking API is at http://127.0.0.1:{DEVHOST_PORT}/api — try:

  curl -s -X POST http://127.0.0.1:{DEVHOST_PORT}/api/bookings -H 'Content-Type: application/json' \\
    -d '{{"traveller": {{"name": "Ada Lovelace", "email": "ada@example.com"}},
         "trips": [{{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}}], "currency": "EUR"}}'

then poll the "self" link it returns. Ctrl-C stops everything.""",
            flush=True,
        )
        while all(p.poll() is None for p in started.values()):
            time.sleep(0.5)
        name, died = next((n, p) for n, p in started.items() if p.poll() is not None)
        print(f"{name} (pid {died.pid}) exited with code {died.returncode}; stopping the others", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping …", flush=True)
        return 0
    finally:
        for proc in reversed(started.values()):
            stop(proc)


if __name__ == "__main__":
    sys.exit(main())
