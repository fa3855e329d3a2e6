"""The real system for end-to-end tests: Azurite, the supplier sandbox and devhost serving function_app.py.

Azurite and the sandbox live for the session; each test module gets its own devhost on its own task
hub, so the crash test can SIGKILL its host without touching the journeys. Settings are the app's
own, shortened where waiting would only cost time: no payment delay, quick retries, a payment
window of a few seconds.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.e2e.journey import Journey
from tests.support.azurite import Azurite, azurite  # noqa: F401  (session fixture)
from tests.support.devhost import REPO_ROOT, DevhostProcess
from tests.support.sandbox import SandboxProcess, sandbox  # noqa: F401  (session fixture)

# Long enough for the sandbox's immediate payment to land, short enough that expiry is quick.
PAYMENT_TIMEOUT_SECONDS = 4


def free_port() -> int:
    """A port to give devhost up front: PUBLIC_BASE_URL (the payment callback) must name it before start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_devhost(
    azurite: Azurite,  # noqa: F811
    sandbox: SandboxProcess,  # noqa: F811
    hub_prefix: str = "E2E",
    *,
    app_root: Path = REPO_ROOT,
    port: int | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[DevhostProcess]:
    """devhost serving the repository's app (or the one at `app_root`) on a fresh task hub, with the e2e
    settings plus `settings` (a module that needs, say, a short supplier timeout defines its own
    `devhost` fixture with this; TASKHUB_NAME and `port` keep a hub and its callback URL across restarts)."""
    port = port or free_port()
    app_settings = {
        **sandbox.app_settings(),
        "AzureWebJobsStorage": azurite.connection_string,
        "TASKHUB_NAME": hub_prefix + uuid.uuid4().hex[:12],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYMENT_TIMEOUT_SECONDS": str(PAYMENT_TIMEOUT_SECONDS),
        "SUPPLIER_RETRY_FIRST_INTERVAL_MS": "100",
        "SUPPLIER_RETRY_BACKOFF": "2.0",
        "SUPPLIER_RETRY_MAX_INTERVAL_MS": "1000",
        "SUPPLIER_RETRY_MAX_ATTEMPTS": "4",
        **(settings or {}),
    }
    host = DevhostProcess(app_root, storage=azurite.connection_string, env=app_settings, port=port)
    try:
        host.start()
        yield host
    finally:
        host.close()


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:  # noqa: F811
    with running_devhost(azurite, sandbox) as host:
        yield host


@pytest.fixture(scope="module")
def journey(devhost: DevhostProcess, sandbox: SandboxProcess) -> Iterator[Journey]:  # noqa: F811
    with httpx.Client(timeout=30) as http:
        yield Journey(devhost.base_url, sandbox.url, sandbox.webhook_secret, http)


@pytest.fixture
def kill_and_restart_devhost(devhost: DevhostProcess) -> Callable[[], None]:
    """SIGKILL devhost (a crash: nothing cleans up) and start it again on the same port and task hub."""

    def crash() -> None:
        devhost.restart(kill=True, same_port=True)

    return crash
