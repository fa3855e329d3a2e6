"""Microsoft's samples-v2 `orchestration_versioning` app, unmodified, walked through as its README walks it
under `python -m devhost` (PROTOCOL.md §36): instances started while host.json's `defaultVersion` is 1.0
take the old path, new ones after the change to 2.0 take the new one, and an instance parked at 1.0 across
the stop / edit / start of the README's steps 1-7 finishes on its old path with its new sub-orchestration at
2.0. The restart in the middle needs a task hub that outlives the process, so that walk runs on Azurite.

The README's output blocks predate the explicit `version="0.9"` sub-orchestration the code now also calls,
so the output holds that line as well (tests/devhost/samples/orchestration_versioning/SOURCE.md)."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.devhost import DevhostProcess, devhost_process

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "orchestration_versioning"
WAITING = "Waiting for Continue event..."


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "orchestration_versioning"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("SOURCE.md", "__pycache__"))
    return root


def _env() -> dict[str, str]:
    # A hub of its own on the shared Azurite, set as an app setting: the sample's files stay as published.
    return {"AzureFunctionsJobHost__extensions__durableTask__hubName": "Versioning" + uuid.uuid4().hex[:10]}


def _set_default_version(root: Path, version: str) -> None:
    """README step 4: change `defaultVersion` in host.json."""
    path = root / "host.json"
    text = path.read_text()
    assert '"defaultVersion": "1.0"' in text
    path.write_text(text.replace('"defaultVersion": "1.0"', f'"defaultVersion": "{version}"'))


def _start(host: DevhostProcess, query: str = "") -> dict[str, Any]:
    response = httpx.post(f"{host.base_url}/api/orchestrators/my_orchestrator{query}", timeout=30)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _wait(urls: dict[str, Any], until: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = dict(httpx.get(urls["statusQueryGetUri"], timeout=30).json())
        if until(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def _waiting(urls: dict[str, Any]) -> dict[str, Any]:
    """README step 2: the orchestration waits for its external event."""
    return _wait(urls, lambda s: s.get("customStatus") == WAITING)


def _continue_and_finish(urls: dict[str, Any]) -> list[str]:
    """README step 6 (trigger the external event) and 7 (observe the output)."""
    url = urls["sendEventPostUri"].replace("{eventName}", "Continue")
    response = httpx.post(url, content=b"null", headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 202, response.text
    status = _wait(urls, lambda s: s["runtimeStatus"] in ("Completed", "Failed", "Terminated"))
    assert status["runtimeStatus"] == "Completed", status
    assert status["customStatus"] == "Continue event received"
    return list(status["output"])


def test_the_default_version_picks_the_path_of_new_instances(tmp_path: Path, storage: str) -> None:
    root = _copy(tmp_path)
    with devhost_process(root, storage=storage, env=_env()) as host:
        urls = _start(host)
        _waiting(urls)
        assert _continue_and_finish(urls) == [
            "Orchestration version: 1.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 1.0",
            "Hello from A!",
        ]
    _set_default_version(root, "2.0")
    with devhost_process(root, storage=storage, env=_env()) as host:
        urls = _start(host)
        _waiting(urls)
        assert _continue_and_finish(urls) == [
            "Orchestration version: 2.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from B!",
        ]
        # "Overriding Version Programmatically": the start request's version wins over defaultVersion.
        urls = _start(host, "?version=1.5")
        _waiting(urls)
        assert _continue_and_finish(urls)[0] == "Orchestration version: 1.5"


@pytest.mark.azurite
def test_an_instance_started_before_the_change_keeps_its_version(tmp_path: Path, azurite: Any) -> None:
    root = _copy(tmp_path)
    with devhost_process(root, storage=azurite.connection_string, env=_env()) as host:
        urls = _start(host)  # step 1
        _waiting(urls)  # step 2
        host.stop()  # step 3
        _set_default_version(root, "2.0")  # step 4
        host.port = int(urls["statusQueryGetUri"].split("/")[2].rsplit(":", 1)[1])
        host.start()  # step 5: the URLs handed out before stay valid
        assert _waiting(urls)["runtimeStatus"] == "Running"
        assert _continue_and_finish(urls) == [  # steps 6 and 7
            "Orchestration version: 1.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from A!",
        ]
