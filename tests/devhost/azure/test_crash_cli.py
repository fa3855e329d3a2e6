"""Crash test through the real CLI: `python -m devhost start --storage <Azurite>` serving a chaining app (the
shape of Microsoft's function_chaining sample), SIGKILLed with activities and timers in flight and started
again: every instance completes through its statusQueryGetUri with the output a clean run gives, and its
history has no duplicate."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.history import EventType
from devhost.store.azure import AzureStorageStore, create_store
from tests.devhost.azure.crash_app import function_app
from tests.devhost.azure.history_checks import TASK_DONE, assert_clean_history, has, in_flight
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess

STARTER = """

@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)
"""


@pytest.fixture
def app_root(tmp_path: Path, hub_name: str) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    source = Path(function_app.__file__).read_text(encoding="utf-8")
    (root / "function_app.py").write_text(source + STARTER, encoding="utf-8")
    host = {
        "version": "2.0",
        "extensions": {
            "durableTask": {"hubName": hub_name, "storageProvider": {"maxQueuePollingInterval": "00:00:01"}}
        },
    }
    (root / "host.json").write_text(json.dumps(host), encoding="utf-8")
    return root


@pytest.fixture
async def reader(azurite: Azurite, hub_name: str) -> AsyncIterator[AzureStorageStore]:
    """A client-only store on the same hub, to look at histories while devhost runs."""
    store = create_store(azurite.connection_string, hub_name=hub_name)
    await store.open()
    yield store
    await store.close()


ACTIVITY_OR_TIMER = (EventType.TaskScheduled, EventType.TimerCreated)


async def test_cli_host_survives_sigkill(app_root: Path, azurite: Azurite, reader: AzureStorageStore) -> None:
    names = [f"town{i}" for i in range(4)]
    host = DevhostProcess(
        app_root, storage=azurite.connection_string, env={"CRASH_APP_ACTIVITY_SECONDS": "0.5"}
    )
    try:
        host.start()
        async with httpx.AsyncClient(timeout=30) as http:
            status_urls: dict[str, str] = {}
            for name in names:
                resp = await http.post(f"{host.base_url}/api/orchestrators/journey", json=name)
                assert resp.status_code == 202, resp.text
                body = resp.json()
                assert resp.headers["Location"] == body["statusQueryGetUri"]
                status_urls[body["id"]] = body["statusQueryGetUri"]

            async def wait_in_flight() -> None:
                while True:
                    histories = [await reader.get_history(i) for i in status_urls]
                    timers = any(has(h, EventType.TimerCreated) for h in histories)
                    running = [
                        in_flight(h, ACTIVITY_OR_TIMER, [*TASK_DONE, EventType.TimerFired]) for h in histories
                    ]
                    if timers and sum(running) >= 2:
                        return
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(wait_in_flight(), 60)
            host.restart(kill=True, same_port=True)

            async def wait_done() -> dict[str, dict[str, Any]]:
                while True:
                    out = {}
                    for iid, url in status_urls.items():
                        resp = await http.get(url)
                        out[iid] = resp.json()
                    if all(s["runtimeStatus"] in ("Completed", "Failed", "Terminated") for s in out.values()):
                        return out
                    await asyncio.sleep(0.25)

            final = await asyncio.wait_for(wait_done(), 90)
    finally:
        host.close()
    outputs = {}
    for iid, status in final.items():
        assert status["runtimeStatus"] == "Completed", status
        outputs[json.loads(status["input"]) if isinstance(status["input"], str) else status["input"]] = (
            status["output"]
        )
        assert_clean_history(await reader.get_history(iid))
    assert outputs == {name: function_app.expected(name) for name in names}
