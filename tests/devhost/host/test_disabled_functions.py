"""`AzureWebJobs.<FunctionName>.Disabled` as the host and the Durable extension honour it (PROTOCOL.md §38),
checked against a real `python -m devhost` on the in-memory task hub and on Azurite:

- the host logs "Function 'X' is disabled" at startup, for the dotted and the underscore spelling, from the
  environment or from local.settings.json; the `__` spelling is another key and disables nothing;
- a disabled HTTP function's route answers 404 unless the caller is admin (without --auth, as under
  `func start`, any request that goes through authorization is; with --auth only the master key is);
- a disabled orchestrator can still be started, and its instance fails with the extension's message;
- a disabled activity or entity keeps its work: the caller waits, nothing fails, and once the function is
  enabled again (a restart on the same task hub) the waiting instance completes.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.disabled import disabled_functions
from tests.support.devhost import DevhostProcess, devhost_process

APP = textwrap.dedent(
    """
    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.route(route="start/{name}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start(req: func.HttpRequest, client) -> func.HttpResponse:
        instance_id = await client.start_new(req.route_params["name"])
        return client.create_check_status_response(req, instance_id)


    @app.route(route="hello")
    def hello(req: func.HttpRequest) -> str:
        return "hello"


    @app.route(route="keyed", auth_level=func.AuthLevel.FUNCTION)
    def keyed(req: func.HttpRequest) -> str:
        return "keyed"


    @app.route(route="other")
    def other(req: func.HttpRequest) -> str:
        return "other"


    @app.orchestration_trigger(context_name="context")
    def chain(context: df.DurableOrchestrationContext):
        value = yield context.call_activity("shout", "a")
        return value


    @app.orchestration_trigger(context_name="context")
    def off(context: df.DurableOrchestrationContext):
        return "ran"


    @app.orchestration_trigger(context_name="context")
    def count(context: df.DurableOrchestrationContext):
        value = yield context.call_entity(df.EntityId("Counter", "c"), "add", 2)
        return value


    @app.activity_trigger(input_name="value")
    def shout(value: str) -> str:
        return value.upper()


    @app.entity_trigger(context_name="context")
    def Counter(context: df.DurableEntityContext) -> None:
        value = context.get_state(lambda: 0) + context.get_input()
        context.set_state(value)
        context.set_result(value)
    """
)

# Long enough for a disabled activity's or entity's work to be offered and held back at least once more.
HELD_SECONDS = 7.0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"AzureWebJobs.shout.Disabled": "true"}, ["shout"]),
        ({"AzureWebJobs_shout_Disabled": "1"}, ["shout"]),
        ({"azurewebjobs.SHOUT.disabled": "TRUE"}, ["shout"]),  # configuration keys ignore case
        ({"AzureWebJobs.shout.Disabled": " True "}, ["shout"]),
        ({"AzureWebJobs.shout.Disabled": "false"}, []),
        ({"AzureWebJobs.shout.Disabled": "yes"}, []),  # only "true" and "1" count
        ({"AzureWebJobs.shout.Disabled": ""}, []),
        ({"AzureWebJobs__shout__Disabled": "true"}, []),  # `__` is a section separator: another key
        ({"AzureWebJobs.shou.Disabled": "true"}, []),
    ],
)
def test_which_settings_disable_a_function(settings: dict[str, str], expected: list[str]) -> None:
    assert disabled_functions(["chain", "shout"], settings) == expected


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)


def _write_app(root: Path, settings: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(APP)
    hub = "Disabled" + uuid.uuid4().hex[:10]
    host_json = {"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}}
    (root / "host.json").write_text(json.dumps(host_json))
    (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": settings}))
    return root


def _start(host: DevhostProcess, name: str) -> dict[str, Any]:
    response = httpx.post(f"{host.base_url}/api/start/{name}", timeout=30)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _status(urls: dict[str, Any]) -> dict[str, Any]:
    response = httpx.get(urls["statusQueryGetUri"] + "&showHistory=true", timeout=30)
    return dict(response.json())


def _wait(urls: dict[str, Any], done: set[str], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = _status(urls)
        if status["runtimeStatus"] in done or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _events(status: dict[str, Any]) -> list[str]:
    return [e["EventType"] for e in status.get("historyEvents") or []]


def test_disabled_http_routes_and_the_startup_lines(tmp_path: Path, storage: str) -> None:
    root = _write_app(tmp_path / "app", {"AzureWebJobs.hello.Disabled": "true"})
    env = {"AzureWebJobs_keyed_Disabled": "1", "AzureWebJobs__other__Disabled": "true"}
    with devhost_process(root, storage=storage, env=env) as host:
        output = host.output()
        assert "Function 'hello' is disabled" in output
        assert "Function 'keyed' is disabled" in output
        assert "Function 'other' is disabled" not in output
        hello = f"{host.base_url}/api/hello"
        # Anonymous and no key: authorization does not run, the caller is not admin.
        miss = httpx.get(hello, timeout=30)
        assert (miss.status_code, miss.content) == (404, b"")
        # Without --auth every authorized request is admin (func start's CliAuthenticationHandler).
        assert httpx.get(hello, params={"code": "anything"}, timeout=30).text == "hello"
        assert httpx.get(hello, headers={"x-functions-key": "x"}, timeout=30).text == "hello"
        # A function-level route always goes through authorization, so without --auth it runs.
        assert httpx.get(f"{host.base_url}/api/keyed", timeout=30).text == "keyed"
        assert httpx.get(f"{host.base_url}/api/other", timeout=30).text == "other"


def test_with_auth_only_the_master_key_reaches_a_disabled_function(tmp_path: Path) -> None:
    settings = {"AzureWebJobs.hello.Disabled": "1", "AzureWebJobs.keyed.Disabled": "1"}
    root = _write_app(tmp_path / "app", settings)
    with devhost_process(root, storage="memory", auth=True) as host:
        keys = json.loads((root / ".devhost" / "keys.json").read_text())
        master = keys["masterKey"]
        function_key = next(iter(keys["functionKeys"].values()))
        hello, keyed = f"{host.base_url}/api/hello", f"{host.base_url}/api/keyed"
        assert httpx.get(hello, timeout=30).status_code == 404
        assert httpx.get(keyed, timeout=30).status_code == 401  # authorization comes first
        assert httpx.get(keyed, params={"code": function_key}, timeout=30).status_code == 404
        assert httpx.get(keyed, params={"code": master}, timeout=30).text == "keyed"
        assert httpx.get(hello, headers={"x-functions-key": master}, timeout=30).text == "hello"


def test_a_disabled_orchestrator_starts_and_fails_with_the_extension_message(
    tmp_path: Path, storage: str
) -> None:
    root = _write_app(tmp_path / "app", {"AzureWebJobs.off.Disabled": "true"})
    with devhost_process(root, storage=storage) as host:
        assert "Function 'off' is disabled" in host.output()
        status = _wait(_start(host, "off"), {"Completed", "Failed"})
        assert status["runtimeStatus"] == "Failed"
        assert status["output"] == (
            "Orchestrator function 'off' failed: The function 'off' doesn't exist, is disabled, or is not an "
            "orchestrator function. Additional info: The following are the known orchestrator functions: "
            "'chain', 'off', 'count'."
        )
        assert "The function 'off' doesn't exist, is disabled" in host.output()  # the extension's warning
        # The other orchestrations run as usual.
        assert _wait(_start(host, "chain"), {"Completed", "Failed"})["output"] == "A"


def _waits(host: DevhostProcess, urls: dict[str, Any], kind: str, function: str) -> dict[str, Any]:
    """The instance is still running after its disabled function's work was held back and offered again."""
    status = _wait(urls, {"Completed", "Failed", "Terminated"}, timeout=HELD_SECONDS)
    assert status["runtimeStatus"] == "Running", status
    assert f"{kind} function '{function}' is disabled" in host.output()
    return status


def test_a_disabled_activity_keeps_its_work_until_enabled(tmp_path: Path, storage: str) -> None:
    root = _write_app(tmp_path / "app", {})
    with devhost_process(root, storage=storage, env={"AzureWebJobs.shout.Disabled": "true"}) as host:
        urls = _start(host, "chain")
        status = _waits(host, urls, "activity", "shout")
        events = _events(status)
        assert "TaskScheduled" in events
        assert "TaskCompleted" not in events and "TaskFailed" not in events
        if storage == "memory":
            return  # the in-memory task hub does not outlive the process
        host.env["AzureWebJobs.shout.Disabled"] = "false"
        offset = len(host.output().encode())
        host.restart(kill=False)
        assert "Function 'shout' is disabled" not in host.output(since=offset)
        status = _wait(urls, {"Completed", "Failed"})
        assert (status["runtimeStatus"], status["output"]) == ("Completed", "A")
        assert _events(status).count("TaskCompleted") == 1


def test_a_disabled_entity_keeps_its_operations_until_enabled(tmp_path: Path, storage: str) -> None:
    root = _write_app(tmp_path / "app", {"AzureWebJobs.Counter.Disabled": "1"})
    with devhost_process(root, storage=storage) as host:
        urls = _start(host, "count")
        _waits(host, urls, "entity", "Counter")
        entity = httpx.get(f"{host.base_url}/runtime/webhooks/durabletask/entities/Counter/c", timeout=30)
        assert entity.status_code == 404  # no operation has run: the entity has no state
        if storage == "memory":
            return
        (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {}}))
        host.restart(kill=False)
        status = _wait(urls, {"Completed", "Failed"})
        assert (status["runtimeStatus"], status["output"]) == ("Completed", 2)
        entity = httpx.get(f"{host.base_url}/runtime/webhooks/durabletask/entities/Counter/c", timeout=30)
        assert entity.json() == 2
