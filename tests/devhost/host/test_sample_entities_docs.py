"""Microsoft's Python v2 entity samples (the Durable Functions tab of Microsoft Learn's "Durable entities"
article), unmodified, under `python -m devhost` (tests/devhost/samples/entities_docs/SOURCE.md): the
`Counter` entity, the client functions `http_set` (signals `add` 1, answers "Done") and `http_read`
(answers the state, or "No state found"), and the orchestrator that signals `add` 3 and then calls `get`.

The article shows no starter for its orchestrator; the test starts it through the Durable Functions HTTP
API (`POST /runtime/webhooks/durabletask/orchestrators/orchestrator`), as the HTTP API article describes."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.devhost import DevhostProcess, devhost_process

WEBHOOK = "/runtime/webhooks/durabletask"
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "entities_docs"


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)


def _read_until(host: DevhostProcess, wanted: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{host.base_url}/api/entityreadvalue", timeout=30)
        assert response.status_code == 200, response.text
        if response.text == wanted:
            return response.text
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)


def _run_orchestrator(host: DevhostProcess) -> dict[str, Any]:
    response = httpx.post(f"{host.base_url}{WEBHOOK}/orchestrators/orchestrator", timeout=30)
    assert response.status_code == 202, response.text
    status_url = response.json()["statusQueryGetUri"]
    deadline = time.monotonic() + 60
    while True:
        status = dict(httpx.get(status_url, timeout=30).json())
        if status["runtimeStatus"] not in ("Pending", "Running"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_the_articles_counter_client_and_orchestrator(tmp_path: Path, storage: str) -> None:
    root = tmp_path / "entities_docs"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("SOURCE.md", "__pycache__"))
    env = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "EntDocs" + uuid.uuid4().hex[:10]}
    with devhost_process(root, storage=storage, env=env) as host:
        # Before any operation the entity does not exist.
        assert _read_until(host, "No state found") == "No state found"
        # "Client signals an entity": the function answers at once; the entity applies `add` 1 later.
        response = httpx.get(f"{host.base_url}/api/entitysetvalue", timeout=30)
        assert (response.status_code, response.text) == (200, "Done")
        _read_until(host, "1")
        response = httpx.post(f"{host.base_url}/api/entitysetvalue", timeout=30)
        assert (response.status_code, response.text) == (200, "Done")
        _read_until(host, "2")
        # "Orchestration signals and calls an entity": the signal (add 3) reaches the entity before the
        # call (get) sent after it by the same orchestration, so the call returns the sum.
        status = _run_orchestrator(host)
        assert (status["runtimeStatus"], status["output"]) == ("Completed", 5)
        assert _read_until(host, "5") == "5"
        # The entity is listed by the entity HTTP API under its lower-cased name.
        listed = httpx.get(f"{host.base_url}{WEBHOOK}/entities/Counter?fetchState=true", timeout=30).json()
        assert [(e["entityId"], e["state"]) for e in listed] == [({"name": "counter", "key": "myCounter"}, 5)]
