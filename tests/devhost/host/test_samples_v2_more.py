"""The other apps of Microsoft's samples-v2 (Azure/azure-functions-durable-python), unmodified, under
`python -m devhost`, each run as its README (or the tutorial it points to) says: `blueprint` (a
`df.Blueprint` registered on a `func.FunctionApp`), `simple_sub_orchestration`, `serialize_arguments` (a
class with `to_json`/`from_json` as input) and `fan_in_fan_out` (the cloud-backup tutorial: an activity per
file, fanned out and summed, each file uploaded to Blob storage).
Copies and their sources: tests/devhost/samples/<name>/SOURCE.md."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobServiceClient

from tests.support.devhost import DevhostProcess, devhost_process

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)


def _copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(SAMPLES / name, root, ignore=shutil.ignore_patterns("SOURCE.md", "__pycache__"))
    return root


def _hub(prefix: str) -> dict[str, str]:
    return {"AzureFunctionsJobHost__extensions__durableTask__hubName": prefix + uuid.uuid4().hex[:10]}


def _finish(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    status_url = response.json()["statusQueryGetUri"]
    deadline = time.monotonic() + 60
    while True:
        status = dict(httpx.get(status_url, timeout=30).json())
        if status["runtimeStatus"] not in ("Pending", "Running"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def _get(host: DevhostProcess, path: str) -> httpx.Response:
    return httpx.get(f"{host.base_url}{path}", timeout=30)


def test_blueprint(tmp_path: Path, storage: str) -> None:
    with devhost_process(_copy(tmp_path, "blueprint"), storage=storage, env=_hub("Blueprint")) as host:
        # The blueprint's client starts its function-chaining orchestrator.
        status = _finish(_get(host, "/api/startOrchestrator"))
        assert (status["runtimeStatus"], status["output"]) == (
            "Completed",
            ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
        )
        # The plain HTTP function registered on the FunctionApp itself.
        assert _get(host, "/api/HttpTrigger?name=Ada").text == (
            "Hello, Ada. This HTTP triggered function executed successfully."
        )
        response = httpx.post(f"{host.base_url}/api/HttpTrigger", json={"name": "Bo"}, timeout=30)
        assert response.text == "Hello, Bo. This HTTP triggered function executed successfully."
        assert _get(host, "/api/HttpTrigger").text.startswith(
            "This HTTP triggered function executed successfully."
        )


def test_simple_sub_orchestration(tmp_path: Path, storage: str) -> None:
    root = _copy(tmp_path, "simple_sub_orchestration")
    with devhost_process(root, storage=storage, env=_hub("SubOrch")) as host:
        # README: "make a GET request to http://127.0.0.1:7071/api/orchestrators/orchestrator" and follow
        # the five URLs of the answer.
        response = _get(host, "/api/orchestrators/orchestrator")
        urls = response.json()
        assert {"statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"} <= set(
            urls
        )
        status = _finish(response)
        assert (status["runtimeStatus"], status["output"]) == ("Completed", "Hello Seattle")


def test_serialize_arguments(tmp_path: Path, storage: str) -> None:
    # The starter passes SerializableClass(5); the SDK stores it through the class's to_json, and the
    # orchestrator gets a SerializableClass back (show_number() would fail on anything else) and returns 5.
    root = _copy(tmp_path, "serialize_arguments")
    with devhost_process(root, storage=storage, env=_hub("Serialize")) as host:
        status = _finish(_get(host, "/api/orchestrators/orchestrator"))
        assert (status["runtimeStatus"], status["output"]) == ("Completed", 5), status
        # The input as the status API shows it: the SDK's envelope of the class, not a bare number.
        assert "SerializableClass" in json.dumps(status["input"]), status["input"]


@pytest.mark.azurite
def test_fan_in_fan_out_backs_up_the_files(tmp_path: Path, azurite: Any) -> None:
    # The cloud-backup tutorial: POST the root directory; E2_GetFileList picks the `__init__.py` and
    # `function.json` files under directories named E2_*, one E2_CopyFileToBlob activity per file uploads
    # it to the container "backups" of AzureWebJobsStorage and answers its size; the output is the sum.
    site = tmp_path / "site"
    folder = "E2_" + uuid.uuid4().hex[:8]  # the container is shared by every run on this Azurite
    (site / folder).mkdir(parents=True)
    (site / folder / "__init__.py").write_text("print('backed up')\n")
    (site / folder / "function.json").write_text(json.dumps({"bindings": []}))
    (site / folder / "notes.txt").write_text("not a function file")
    (site / "other").mkdir()
    (site / "other" / "__init__.py").write_text("# not under E2_\n")
    expected = sum((site / folder / n).stat().st_size for n in ("__init__.py", "function.json"))

    env = {**_hub("FanOut"), "AzureWebJobsStorage": azurite.connection_string}
    root = _copy(tmp_path, "fan_in_fan_out")
    with devhost_process(root, storage=azurite.connection_string, env=env) as host:
        response = httpx.post(
            f"{host.base_url}/api/orchestrators/E2_BackupSiteContent", json=str(site), timeout=30
        )
        status = _finish(response)
        assert (status["runtimeStatus"], status["output"]) == ("Completed", expected)
        # Without a directory the orchestrator raises, and the instance fails with its message.
        failed = _finish(
            httpx.post(f"{host.base_url}/api/orchestrators/E2_BackupSiteContent", json="", timeout=30)
        )
        assert failed["runtimeStatus"] == "Failed"
        assert "A directory path is required as input" in str(failed["output"])

    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        "backups"
    )
    uploaded = {b.name: b.size for b in container.list_blobs(name_starts_with=folder)}
    assert uploaded == {
        f"{folder}___init__.py": (site / folder / "__init__.py").stat().st_size,
        f"{folder}_function.json": (site / folder / "function.json").stat().st_size,
    }
