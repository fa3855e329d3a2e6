"""`python -m devhost dashboard`: the dashboard over a task hub that a devhost on Azurite left behind, as a
process of its own with no app: read-only by default, and a hub that does not exist is one clear line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.azurite import Azurite
from tests.support.devhost import REPO_ROOT, DevhostProcess
from tests.support.processes import terminate

_SERVING = re.compile(r"Dashboard: (http://127\.0\.0\.1:\d+)/_devhost/")


def _command(connection_string: str, hub: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "devhost", "dashboard", "--storage", connection_string, "--hub", hub,
            "--port", "0", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture(scope="module")
def board(azurite: Azurite, devhost: DevhostProcess) -> Iterator[str]:
    """A read-only dashboard process over the browser tests' task hub; yields its base URL."""
    proc = subprocess.Popen(_command(azurite.connection_string, devhost.env["TASKHUB_NAME"]), cwd=REPO_ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the dashboard exited: {''.join(seen)}")
            seen.append(line)
            match = _SERVING.search(line)
            if match:
                yield match.group(1)
                return
        raise AssertionError(f"the dashboard did not start: {''.join(seen)}")
    finally:
        terminate(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.azurite
def test_the_hub_mode_lists_a_hub_left_in_azurite_and_refuses_actions(
    board: str, bookings: dict[str, str]
) -> None:
    listed = httpx.get(board + "/_devhost/api/instances", params={"pageSize": 500}, timeout=30).json()
    ids = {i["instanceId"] for i in listed["instances"]}
    # The browser tests purged what had completed; the terminated +nopay booking is still there.
    assert bookings["nopay"] in ids
    assert listed["counts"]["Terminated"] >= 1
    info = httpx.get(board + "/_devhost/api/info", timeout=30).json()
    assert info["actions"] is False and info["restart"] is False
    refused = httpx.post(f"{board}/_devhost/api/instances/{bookings['nopay']}/terminate", json={},
                         headers={"Origin": board}, timeout=30)
    assert refused.status_code == 403
    assert refused.json()["error"] == "this dashboard is read-only; start it with --allow-actions to act"
    page = httpx.get(board + "/", timeout=30, follow_redirects=True)
    assert page.status_code == 200 and "devhost dashboard" in page.text


@pytest.mark.azurite
def test_the_hub_mode_in_the_browser_shows_the_hub_and_offers_no_action(
    page: Any, board: str, bookings: dict[str, str], artifacts: Path
) -> None:
    page.goto(board + "/_devhost/")
    page.locator(f'tr[data-instance-id="{bookings["nopay"]}"]').wait_for()
    page.locator("#hub", has_text="read-only").wait_for()
    assert page.locator("#bulk-terminate").is_disabled() and page.locator("#bulk-purge").is_disabled()
    page.screenshot(path=str(artifacts / "hub.png"), full_page=True)

    page.goto(f"{board}/_devhost/instance?id={bookings['nopay']}")
    page.locator("#status .badge", has_text="Terminated").wait_for()
    page.locator("#readonly").wait_for()  # "Read-only: start the dashboard with --allow-actions to act."
    buttons = page.locator("#actions button[data-op]")
    assert buttons.count() >= 5
    assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    assert page.locator("#raise button").is_disabled()


@pytest.mark.azurite
def test_a_hub_that_does_not_exist_is_one_line_and_is_not_created(azurite: Azurite) -> None:
    done = subprocess.run(_command(azurite.connection_string, "NoSuchHub0dash"), cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 4
    assert done.stderr.strip() == ("devhost: no task hub 'NoSuchHub0dash' in this storage account "
                                   "(there is no table NoSuchHub0dashInstances)")
    again = subprocess.run(_command(azurite.connection_string, "NoSuchHub0dash"), cwd=REPO_ROOT, env=_env(),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 4  # the first attempt created nothing


def test_storage_that_cannot_be_reached_is_one_line_without_the_key() -> None:
    secret = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    dead = "http://127.0.0.1:1/devstoreaccount1"
    connection = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={secret};"
                  f"TableEndpoint={dead};QueueEndpoint={dead};BlobEndpoint={dead}")
    done = subprocess.run(_command(connection, "AnyHub"), cwd=REPO_ROOT, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("devhost: storage cannot be reached: ")
    assert secret not in done.stderr + done.stdout
