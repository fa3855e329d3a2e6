"""What the tests of Microsoft's vendored samples share: a copy of a sample to run (its files as published,
without our SOURCE.md), a task hub of its own on the shared Azurite, and the wait on a status URL."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
RUNNING = ("Pending", "Running")


def copy_sample(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(SAMPLES / name, root, ignore=shutil.ignore_patterns("SOURCE.md", "__pycache__"))
    return root


def own_hub(prefix: str) -> dict[str, str]:
    """A hub of its own, set as an app setting, so the sample's host.json stays as published."""
    return {"AzureFunctionsJobHost__extensions__durableTask__hubName": prefix + uuid.uuid4().hex[:10]}


def wait_for_status(
    status_url: str, until: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = dict(httpx.get(status_url, timeout=30).json())
        if until(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def run_to_end(response: httpx.Response) -> dict[str, Any]:
    """The status of the instance a 202 check-status answer started, once it is no longer running."""
    assert response.status_code == 202, response.text
    return wait_for_status(response.json()["statusQueryGetUri"], lambda s: s["runtimeStatus"] not in RUNNING)
