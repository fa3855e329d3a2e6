"""Run `python -m devhost start` as a real process on a free port, for integration and e2e tests.

    with devhost_process(app_root, storage="memory", env={"TASKHUB_NAME": "Hub1"}) as host:
        # storage: "memory", a connection string, or "" for the app's AzureWebJobsStorage setting
        httpx.get(host.base_url + "/api/health")
        host.kill()        # SIGKILL, as a crash
        host.restart()     # same app root, storage, env and port

Stops by pid only: SIGTERM, then SIGKILL if it has not exited in time. Output goes to a log file that is
printed when the host fails to start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from tests.support.processes import terminate


class DevhostOptions(TypedDict, total=False):
    """How a devhost process is started (all optional)."""

    storage: str  # "memory" (default) or a connection string
    env: Mapping[str, str] | None  # the app settings it sees, over this process's environment
    port: int  # 0 (default): a free one
    auth: bool  # --auth
    extra_args: tuple[str, ...]
    startup_timeout: float  # seconds until "Host started" (default 60)

REPO_ROOT = Path(__file__).resolve().parents[2]
_STARTED = re.compile(r"Host started: (http://127\.0\.0\.1:\d+)")


class DevhostError(RuntimeError):
    """devhost did not start, or exited with an error; the message carries its output."""


class DevhostProcess:
    """One devhost process at a time; `restart()` replaces it with a new one on the same settings."""

    def __init__(self, app_root: Path, **options: Unpack[DevhostOptions]) -> None:
        self.app_root = Path(app_root)
        self.storage = options.get("storage", "memory")
        self.env = dict(options.get("env") or {})
        self.port = options.get("port", 0)
        self.auth = options.get("auth", False)
        self.extra_args = options.get("extra_args", ())
        self.startup_timeout = options.get("startup_timeout", 60.0)
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.log_path = Path(tempfile.mkstemp(prefix="devhost-", suffix=".log")[1])
        self.returncodes: list[int] = []

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not running"
        return self.proc.pid

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app-root",
            str(self.app_root),
            "--port",
            str(self.port),
            *self.extra_args,
        ]
        if self.storage:  # empty: devhost falls back to the AzureWebJobsStorage app setting
            cmd += ["--storage", self.storage]
        if self.auth:
            cmd.append("--auth")
        return cmd

    def start(self) -> str:
        """Start and wait until the banner says it is serving and /admin/host/ping answers."""
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        log = self.log_path.open("ab")
        offset = log.tell()  # the log is shared across restarts: read only this run's banner
        try:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.returncodes.append(code)
                self.proc = None
                raise DevhostError(f"devhost exited with {code} during startup:\n{self.output()}")
            m = _STARTED.search(self.output(since=offset))
            if m and self._answers(m.group(1)):
                self.base_url = m.group(1)
                return self.base_url
            time.sleep(0.05)
        self.stop()
        raise DevhostError(f"devhost did not start within {self.startup_timeout}s:\n{self.output()}")

    def _answers(self, base_url: str) -> bool:
        try:
            with urllib.request.urlopen(base_url + "/admin/host/ping", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def output(self, since: int = 0) -> str:
        """What the process(es) printed so far (from byte offset `since`)."""
        try:
            return self.log_path.read_bytes()[since:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM by pid, SIGKILL if it does not exit within `timeout`. Returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        code = terminate(proc, timeout)
        self.returncodes.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL by pid: a crash, nothing gets to clean up."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.returncodes.append(proc.returncode)

    def restart(self, *, kill: bool = True, same_port: bool = True) -> str:
        """Kill (or stop) the running process and start a new one on the same settings.

        With `same_port` the new process listens where the old one did, so URLs handed out before the
        crash (statusQueryGetUri, Location headers) keep working."""
        previous = self.base_url
        if kill:
            self.kill()
        else:
            self.stop()
        port = self.port
        if same_port and previous:
            self.port = int(previous.rsplit(":", 1)[1])
        try:
            return self.start()
        finally:
            self.port = port

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self.log_path.unlink()


@contextlib.contextmanager
def devhost_process(app_root: Path, **options: Unpack[DevhostOptions]) -> Iterator[DevhostProcess]:
    """A started devhost; stopped (SIGTERM, then SIGKILL) when the block ends, whatever happens."""
    host = DevhostProcess(app_root, **options)
    try:
        host.start()
        yield host
    finally:
        host.close()


def devhost_command(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m devhost ARGS` to its end (replay, history export): devhost from this checkout, the
    working directory `cwd` first on the path (an app copied elsewhere imports from there)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "devhost", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
