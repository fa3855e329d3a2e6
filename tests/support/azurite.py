"""Run a private Azurite (the Azure Storage emulator from node_modules) for tests and benchmarks.

Use `azurite_process()` as a context manager anywhere, or the session-scoped `azurite` pytest fixture
(import it into a conftest.py so one Azurite serves the whole session; use unique hub names per test).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.run_local import answers  # one definition of "a server answers at this URL"
from tests.support.processes import terminate

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT_NAME = "devstoreaccount1"
# The well-known development-storage key: public, identical in every Azurite and in the Azure docs.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")


class AzuriteError(RuntimeError):
    """Azurite did not start (missing binary, crashed, or did not answer in time)."""


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: its endpoints, connection string and process id."""

    pid: int
    location: Path
    blob_endpoint: str
    queue_endpoint: str
    table_endpoint: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop Azurite by its pid: SIGTERM, then SIGKILL if it does not exit promptly."""
    terminate(proc)


@contextlib.contextmanager
def azurite_process(location: Path | None = None, startup_timeout: float = 60.0) -> Iterator[Azurite]:
    """Start Azurite on free 127.0.0.1 ports, data under `location` (temp dir if None); stop it on exit."""
    if not os.access(AZURITE_BIN, os.X_OK):
        raise AzuriteError(f"{AZURITE_BIN} not found: run `npm ci` (or `make install`) first")
    with contextlib.ExitStack() as stack:
        if location is None:
            location = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="azurite-")))
        location.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(AZURITE_BIN),
            # No telemetry out of the machine; accept the current storage SDKs' API versions; be lenient.
            "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent",
            "--location", str(location),
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd,
            cwd=location,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Own process group: a Ctrl-C aimed at pytest must not kill Azurite before teardown runs.
            start_new_session=True,
        )
        stack.callback(_stop, proc)
        endpoints = _read_endpoints(proc, startup_timeout)
        deadline = time.monotonic() + startup_timeout
        while not all(answers(url) for url in endpoints.values()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AzuriteError(f"Azurite did not answer at {endpoints} (exit code {proc.poll()})")
            time.sleep(0.05)
        server = Azurite(
            pid=proc.pid,
            location=location,
            blob_endpoint=f"{endpoints['Blob']}/{ACCOUNT_NAME}",
            queue_endpoint=f"{endpoints['Queue']}/{ACCOUNT_NAME}",
            table_endpoint=f"{endpoints['Table']}/{ACCOUNT_NAME}",
        )
        log.info("Azurite pid %s: blob %s queue %s table %s", server.pid, *endpoints.values())
        yield server


def _read_endpoints(proc: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    """Parse the real ports from Azurite's startup lines, then keep draining its output in the background."""
    assert proc.stdout is not None
    stdout = proc.stdout
    found: dict[str, str] = {}
    seen: list[str] = []
    done = threading.Event()

    def pump() -> None:
        # Runs until Azurite exits (EOF), so its pipe never fills; it alone closes the pipe.
        try:
            for line in stdout:
                if not done.is_set():
                    seen.append(line.rstrip())
                    match = _LISTENING.search(line)
                    if match:
                        found[match.group(1)] = match.group(2).rstrip("/")
                        if len(found) == 3:
                            done.set()
                else:
                    log.debug("azurite: %s", line.rstrip())
        except (OSError, ValueError):
            pass
        finally:
            done.set()
            stdout.close()

    threading.Thread(target=pump, name=f"azurite-{proc.pid}-output", daemon=True).start()
    if not done.wait(timeout) or len(found) < 3:
        output = "\n".join(seen[-20:])
        _stop(proc)
        raise AzuriteError(f"Azurite did not start (exit code {proc.poll()}):\n{output}")
    return found


_shared: Azurite | None = None
_shared_stack: contextlib.ExitStack | None = None
_shared_users = 0


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite for the whole test session. Several conftest.py files may import this fixture: they
    all share the same process (reference-counted), which stops after the last of them finishes."""
    global _shared, _shared_stack, _shared_users
    if _shared is None:
        stack = contextlib.ExitStack()
        _shared = stack.enter_context(azurite_process(tmp_path_factory.mktemp("azurite")))
        _shared_stack = stack
    _shared_users += 1
    try:
        yield _shared
    finally:
        _shared_users -= 1
        if _shared_users == 0 and _shared_stack is not None:
            stack, _shared, _shared_stack = _shared_stack, None, None
            stack.close()
