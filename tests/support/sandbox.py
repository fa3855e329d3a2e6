"""Run the real supplier sandbox (`python -m sandbox --port 0 --db …`) for tests and benchmarks.

`sandbox_process()` is a context manager usable anywhere (extra env, own db path); `SandboxProcess`
can also be stopped and started again on the same db (restart tests); the `sandbox` fixture is one
sandbox per test session (declare it in a conftest.py). Processes are stopped by their own pid.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.processes import terminate

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
# A test-only signing secret (never a deployment value): 32 known bytes, base64, with the whsec_ prefix.
TEST_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sandbox-tests-only-webhook-key-1").decode()
_READY = re.compile(r"sandbox listening on (http://127\.0\.0\.1:\d+)")
# What tests want unless they say otherwise: no payment delay, quick webhook retries.
DEFAULT_ENV = {
    "PAYMENT_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
    "SANDBOX_PAYMENT_DELAY_SECONDS": "0",
    "SANDBOX_WEBHOOK_RETRY_SECONDS": "0.05",
}


class SandboxError(RuntimeError):
    """The sandbox did not start (bad settings, port trouble, crash, or no ready line in time)."""


@dataclass
class SandboxProcess:
    """One sandbox process at a time on a fixed db file; start() again after stop() to restart it."""

    db_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = 20.0
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    # The last lines of its output (bounded: a long e2e session must not grow memory without end).
    output: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    returncode: int | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def webhook_secret(self) -> str:
        return {**DEFAULT_ENV, **self.env}["PAYMENT_WEBHOOK_SECRET"]

    def app_settings(self) -> dict[str, str]:
        """The app settings that point a function app at this sandbox (booking-api.md names)."""
        apis = ("conference", "airline", "rail", "hotel", "payment", "expense")
        urls = {f"{api.upper()}_API_URL": f"{self.url}/{api}" for api in apis}
        return {**urls, "PAYMENT_WEBHOOK_SECRET": self.webhook_secret}

    def start(self) -> str:
        """Start the process and wait for its ready line; returns the base URL."""
        if self.proc is not None and self.proc.poll() is None:
            raise SandboxError("already running")
        cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--db", str(self.db_path)]
        self.output = deque(maxlen=2000)
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env={**os.environ, **DEFAULT_ENV, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Own session: a Ctrl-C aimed at pytest must not kill the sandbox before teardown runs.
            start_new_session=True,
        )
        ready = threading.Event()
        proc, output = self.proc, self.output

        def pump() -> None:
            # Drains the pipe until the process exits, so it never blocks on a full pipe.
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    output.append(line.rstrip())
                    match = _READY.search(line)
                    if match and not ready.is_set():
                        self.url = match.group(1)
                        ready.set()
            except (OSError, ValueError):
                pass
            finally:
                ready.set()
                proc.stdout.close()

        threading.Thread(target=pump, name=f"sandbox-{proc.pid}-output", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not self.url or proc.poll() is not None:
            self.stop()
            raise SandboxError(
                f"sandbox did not start (exit code {proc.poll()}):\n" + "\n".join(list(output)[-20:])
            )
        log.info("sandbox pid %s at %s", proc.pid, self.url)
        return self.url

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by pid, SIGKILL if it does not exit in time; returns the exit code."""
        proc = self.proc
        if proc is None:
            return self.returncode
        self.returncode = terminate(proc, timeout)
        self.proc = None
        return self.returncode


@contextlib.contextmanager
def sandbox_process(
    db_path: Path | None = None, env: Mapping[str, str] | None = None, startup_timeout: float = 20.0
) -> Iterator[SandboxProcess]:
    """A running sandbox (db in a temp dir unless given), stopped on exit."""
    with contextlib.ExitStack() as stack:
        if db_path is None:
            db_path = (
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-"))) / "sandbox.sqlite3"
            )
        sandbox = SandboxProcess(db_path=db_path, env=dict(env or {}), startup_timeout=startup_timeout)
        stack.callback(sandbox.stop)
        sandbox.start()
        yield sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox for the session; tests use their own traveller emails and booking ids."""
    with sandbox_process(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3") as running:
        yield running


SUPPLIER_APIS = ("conference", "airline", "rail", "hotel", "payment", "expense")


@pytest.fixture
def app_settings_on_sandbox(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxProcess]:
    """The app's settings (development mode, the dev webhook secret) with every supplier URL pointing
    at the session's sandbox; the settings cache is cleared before and after."""
    from booking.settings import DEV_WEBHOOK_SECRET, get_settings

    monkeypatch.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
    for api in SUPPLIER_APIS:
        monkeypatch.setenv(f"{api.upper()}_API_URL", f"{sandbox.url}/{api}")
    get_settings.cache_clear()
    yield sandbox
    get_settings.cache_clear()
