"""Stopping the processes the tests start: by their own pid, politely first, and never waiting forever."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any


def terminate(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM by pid, SIGKILL if it has not exited within `timeout`; returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return int(proc.returncode)
