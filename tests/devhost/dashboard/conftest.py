"""A real headless Chromium (Debian's `chromium`, driven by Playwright) for the dashboard's browser tests.

No browser is a failure with the one line that says what to install, never a skip: a suite that quietly
stops testing the pages would look green and prove nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.azurite import Azurite, azurite  # noqa: F401  (session fixture)
from tests.support.devhost import REPO_ROOT, DevhostProcess
from tests.support.sandbox import SandboxProcess, sandbox  # noqa: F401  (session fixture)

# Screenshots the browser tests leave for a person to look at (git-ignored).
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "dashboard"
INSTALL_HINT = "chromium not found on PATH: apt-get install chromium"
HOSTILE_NAME = "<script>pwned=1</script>"


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        # Root (CI containers) cannot use Chromium's sandbox; a user can.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:  # noqa: F811
    # A payment window long enough that a +nopay booking is still running when the page terminates it.
    settings = {"PAYMENT_TIMEOUT_SECONDS": "600"}
    with running_devhost(azurite, sandbox, hub_prefix="Dash", settings=settings) as host:
        yield host


@pytest.fixture(scope="package")
def journey(devhost: DevhostProcess, sandbox: SandboxProcess) -> Iterator[Journey]:  # noqa: F811
    with httpx.Client(timeout=30) as http:
        yield Journey(devhost.base_url, sandbox.url, sandbox.webhook_secret, http)


def instance(devhost: DevhostProcess, instance_id: str) -> httpx.Response:
    return httpx.get(f"{devhost.base_url}/_devhost/api/instances/{instance_id}", timeout=30)


def wait_status(
    devhost: DevhostProcess, instance_id: str, status: str, seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        response = instance(devhost, instance_id)
        if response.status_code == 200:
            last = response.json()["instance"]
            if last["runtimeStatus"] == status:
                return dict(response.json())
        time.sleep(0.2)
    raise AssertionError(f"{instance_id} did not become {status}; last seen {last}")


@pytest.fixture(scope="package")
def bookings(journey: Journey, devhost: DevhostProcess) -> dict[str, str]:
    """One booking of each kind the tests look at, started over HTTP and settled."""
    ids = {
        "done": journey.book_ok(unique_email(), [trip()]),
        "flaky": journey.book_ok(unique_email("flaky"), [trip()]),
        "nopay": journey.book_ok(unique_email("nopay"), [trip()]),
        "hostile": journey.book_ok(unique_email(), [trip()], name=HOSTILE_NAME),
    }
    for kind in ("done", "flaky", "hostile"):
        wait_status(devhost, ids[kind], "Completed")
    # The +nopay booking has booked its trip and now waits for a payment that never comes.
    wait_status(devhost, ids["nopay"] + ":trip:0", "Completed")
    wait_status(devhost, ids["nopay"], "Running")
    return ids
