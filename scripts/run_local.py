"""`make run`: Azurite, the supplier sandbox and devhost, started and stopped together.

Before anything starts, every port is checked by binding it, and Node, Azurite and `.azurite/` are checked:
a problem is one line naming what to do, and a non-zero exit. Each process is then started and waited on
until it answers over HTTP; their output is merged into one stream, one line format, each line naming its
process. Ctrl-C (or SIGTERM) stops all three by process id, newest first, so no state is written after its
storage has gone away.

Ports (environment variables): DEVHOST_PORT (7071), SANDBOX_PORT (7080), AZURITE_BLOB_PORT (10000),
AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002). The app settings that name them (the supplier URLs,
the storage connection, PUBLIC_BASE_URL) follow, unless the environment sets them itself. AZURITE_LOCATION
moves the state folder (default .azurite/).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
READY_SECONDS = 60.0
# Azurite's well-known development account (public, the same in every Azurite).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# One line format for all three processes: time, process, then what the process printed.
LINE_FORMAT = "{time} {name:<7} | {line}"
# The Python processes print "<level> <logger>: <message>"; the supervisor adds the time.
CHILD_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


class Problem(Exception):
    """Something to fix before `make run` can start; the message says what."""


def port_settings(env: dict[str, str]) -> dict[str, int]:
    defaults = {
        "DEVHOST_PORT": 7071,
        "SANDBOX_PORT": 7080,
        "AZURITE_BLOB_PORT": 10000,
        "AZURITE_QUEUE_PORT": 10001,
        "AZURITE_TABLE_PORT": 10002,
    }
    ports: dict[str, int] = {}
    for name, default in defaults.items():
        text = env.get(name, str(default))
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise Problem(f"{name}={text!r} is not a port number (1-65535)")
        ports[name] = int(text)
    if len(set(ports.values())) != len(ports):
        raise Problem(f"two services were given the same port: {ports}")
    return ports


def port_in_use(port: int) -> bool:
    """True when something holds 127.0.0.1:port. Binding is the test (a server that merely answers on
    the port is not required); SO_REUSEADDR as every server sets it, so a closed socket in TIME_WAIT does
    not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(ports: dict[str, int]) -> None:
    for name, port in ports.items():
        if port_in_use(port):
            raise Problem(
                f"port {port} on 127.0.0.1 is already in use; stop what holds it, or choose another port "
                f"with {name}=<port> make run"
            )


def check_tools(state: Path) -> Path:
    """The Azurite binary, Node to run it, and a writable state folder."""
    if shutil.which("node") is None:
        raise Problem("Node.js is not installed (Azurite needs it): install Node 20, then run make run again")
    azurite = ROOT / "node_modules" / ".bin" / "azurite"
    if not azurite.exists():
        raise Problem("Azurite is not installed: run make install (it runs npm ci)")
    try:
        state.mkdir(exist_ok=True)
        probe = state / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise Problem(f"{state} is not writable ({exc.strerror}): fix its permissions or remove it") from None
    return azurite


def derived_settings(ports: dict[str, int]) -> dict[str, str]:
    """The app settings that name a port, for the ports in use."""
    sandbox = f"http://127.0.0.1:{ports['SANDBOX_PORT']}"
    suppliers = {
        f"{api.upper()}_API_URL": f"{sandbox}/{api}"
        for api in ("conference", "airline", "rail", "hotel", "payment", "expense")
    }
    storage = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{ports['AZURITE_BLOB_PORT']}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{ports['AZURITE_QUEUE_PORT']}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{ports['AZURITE_TABLE_PORT']}/{AZURITE_ACCOUNT};"
    )
    return {
        **suppliers,
        "AzureWebJobsStorage": storage,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['DEVHOST_PORT']}",
    }


_output = threading.Lock()


def emit(name: str, line: str) -> None:
    """One line in the one format; a lock keeps the relays' lines whole."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    with _output:
        print(LINE_FORMAT.format(time=stamp, name=name, line=line), flush=True)


def relay(name: str, stream: IO[bytes]) -> None:
    """Copy a child's output to ours, a line at a time."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            emit(name, line)


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
    # Azurite's data and the sandbox's database; AZURITE_LOCATION moves them (the tests use a temporary one).
    state = Path(os.environ.get("AZURITE_LOCATION", ROOT / ".azurite"))
    # The sandbox signs payment webhooks with the app's own secret: give it the app's local settings,
    # with the environment winning, as `func start` and devhost do.
    settings = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    try:
        ports = port_settings(dict(os.environ))
        azurite = check_tools(state)
        check_ports(ports)
    except Problem as problem:
        print(f"make run: {problem}", file=sys.stderr, flush=True)
        return 2
    env = {**settings, **derived_settings(ports), **os.environ, "LOG_LINE_FORMAT": CHILD_LOG_FORMAT}
    started: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, cmd: list[str], url: str) -> None:
        # Own process group: the Ctrl-C of the terminal reaches this supervisor only, which then stops
        # the children in order instead of all at once.
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        started[name] = proc
        assert proc.stdout is not None
        threading.Thread(target=relay, args=(name, proc.stdout), daemon=True).start()
        wait_until_answers(name, url, proc)
        emit(name, f"ready at {url} (pid {proc.pid})")

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    devhost_port, sandbox_port = ports["DEVHOST_PORT"], ports["SANDBOX_PORT"]
    try:
        emit("make", "starting Azurite, the supplier sandbox and devhost")
        start(
            "azurite",
            [
                str(azurite),
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
                str(ports["AZURITE_BLOB_PORT"]),
                "--queuePort",
                str(ports["AZURITE_QUEUE_PORT"]),
                "--tablePort",
                str(ports["AZURITE_TABLE_PORT"]),
            ],  # fmt: skip
            f"http://127.0.0.1:{ports['AZURITE_BLOB_PORT']}/",
        )
        start(
            "sandbox",
            [PYTHON, "-m", "sandbox", "--port", str(sandbox_port), "--db", str(state / "sandbox.sqlite3")],
            f"http://127.0.0.1:{sandbox_port}/openapi.json",
        )
        start(
            "devhost",
            [PYTHON, "-m", "devhost", "start", "--app-root", str(ROOT), "--port", str(devhost_port)],
            f"http://127.0.0.1:{devhost_port}/api/health",
        )
        with _output:
            print(
                f"""
Ready. The booking API is at http://127.0.0.1:{devhost_port}/api — try:

  curl -s -X POST http://127.0.0.1:{devhost_port}/api/bookings -H 'Content-Type: application/json' \\
    -d '{{"traveller": {{"name": "Ada Lovelace", "email": "ada@example.com"}},
         "trips": [{{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}}], "currency": "EUR"}}'

then poll the "self" link it returns. Ctrl-C stops everything.""",
                flush=True,
            )
        while all(p.poll() is None for p in started.values()):
            time.sleep(0.5)
        name, died = next((n, p) for n, p in started.items() if p.poll() is not None)
        emit("make", f"{name} (pid {died.pid}) exited with code {died.returncode}; stopping the others")
        return 1
    except KeyboardInterrupt:
        emit("make", "stopping")
        return 0
    except SystemExit as failed:
        print(f"make run: {failed}", file=sys.stderr, flush=True)
        return 1
    finally:
        for proc in reversed(started.values()):
            stop(proc)


if __name__ == "__main__":
    sys.exit(main())
