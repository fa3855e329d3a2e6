"""`python -m devhost start` as a real process: the chaining sample end to end, settings, errors, signals."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.devhost.host.apps import CHAINING_APP, HTTP_APP, write_app
from tests.support.devhost import REPO_ROOT, DevhostError, devhost_process

HOST_JSON = json.dumps({
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "v1"},
        "durableTask": {"hubName": "%MY_HUB%", "maxConcurrentActivityFunctions": 2,
                        "storageProvider": {"maxQueuePollingInterval": "00:00:01"}},
    },
})


def run_devhost(root: Path) -> subprocess.CompletedProcess[str]:
    """A devhost run that is expected to exit by itself (startup errors)."""
    cmd = [sys.executable, "-m", "devhost", "start", "--app-root", str(root), "--port", "0",
           "--storage", "memory"]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def poll_until_done(client: httpx.Client, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = client.get(status_url)
        if r.status_code == 200:
            return dict(r.json())
        assert r.status_code == 202
        time.sleep(0.05)
    raise AssertionError("orchestration did not finish")


def test_chaining_sample_reaches_completed(tmp_path: Path) -> None:
    root = write_app(tmp_path / "chaining", CHAINING_APP)
    with devhost_process(root, storage="memory") as host, httpx.Client(timeout=10) as client:
        banner = host.output()
        assert f"http_start: [GET,POST,DELETE,HEAD,PATCH,PUT,OPTIONS] {host.base_url}/api/orchestrators/" \
               "{functionName}" in banner
        assert "function_chaining: orchestrationTrigger" in banner and "say_hello: activityTrigger" in banner
        r = client.post(f"{host.base_url}/api/orchestrators/function_chaining")
        assert r.status_code == 202
        body = r.json()
        assert r.headers["Location"] == body["statusQueryGetUri"]
        status_prefix = f"{host.base_url}/runtime/webhooks/durabletask/instances/"
        assert body["statusQueryGetUri"].startswith(status_prefix)
        status = poll_until_done(client, body["statusQueryGetUri"])
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        assert host.stop() == 0  # SIGTERM is a clean stop


def test_settings_host_json_and_auth(tmp_path: Path) -> None:
    root = write_app(tmp_path / "configured", CHAINING_APP, host_json=HOST_JSON,
                     settings={"MY_HUB": "FromSettings", "OTHER": "x"})
    env = {"MY_HUB": "FromEnv"}
    with devhost_process(root, storage="memory", env=env, auth=True) as host, \
            httpx.Client(timeout=10) as client:
        assert "'FromEnv'" in host.output()  # the environment wins over local.settings.json
        r = client.post(f"{host.base_url}/v1/orchestrators/function_chaining")  # routePrefix from host.json
        assert r.status_code == 202  # anonymous function: no key needed even with --auth
        body = r.json()
        assert "taskHub=FromEnv&connection=Storage&code=" in body["statusQueryGetUri"]
        keys = json.loads((root / ".devhost" / "keys.json").read_text())
        assert keys["systemKeys"]["durabletask_extension"] in body["statusQueryGetUri"]
        assert keys["masterKey"] not in host.output()  # keys are never logged
        no_key = body["statusQueryGetUri"].split("&code=")[0]
        assert client.get(no_key).status_code == 401
        assert poll_until_done(client, body["statusQueryGetUri"])["runtimeStatus"] == "Completed"
        assert client.get(f"{host.base_url}/api/orchestrators/x").status_code == 404


def test_import_failure_is_one_line_and_nonzero(tmp_path: Path) -> None:
    root = write_app(tmp_path / "broken", "import azure.functions as func\nraise RuntimeError('no config')\n")
    with pytest.raises(DevhostError) as raised:
        with devhost_process(root, storage="memory", startup_timeout=30):
            pass
    message = str(raised.value)
    assert "exited with 3" in message
    assert "devhost: function_app.py failed to import: RuntimeError: no config" in message
    assert "Traceback" not in message


def test_two_function_apps_refused(tmp_path: Path) -> None:
    source = HTTP_APP + "\nsecond = func.FunctionApp()\n"
    root = write_app(tmp_path / "two", source)
    proc = run_devhost(root)
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "devhost: function_app.py: More than one FunctionApp or other top level function app instances are "
        "defined."
    )


def test_bad_host_json_is_usage_error(tmp_path: Path) -> None:
    bad = '{"extensions": {"durableTask": {"hubName": "%MISSING_SETTING%"}}}'
    root = write_app(tmp_path / "badhost", CHAINING_APP, host_json=bad)
    proc = run_devhost(root)
    assert proc.returncode == 2
    expected = "devhost: host.json refers to app setting %MISSING_SETTING% which is not set"
    assert proc.stderr.strip() == expected


def test_kill_and_restart(tmp_path: Path) -> None:
    root = write_app(tmp_path / "restart", CHAINING_APP)
    with devhost_process(root, storage="memory") as host, httpx.Client(timeout=10) as client:
        first = host.base_url
        host.restart()  # SIGKILL, then a fresh process (memory store: nothing survives, by design)
        assert host.returncodes[-1] == -9
        assert host.base_url == first  # same port: URLs handed out before the crash stay valid
        assert client.get(f"{host.base_url}/admin/host/ping").status_code == 200
        host.restart(same_port=False)
        assert host.base_url != first


@pytest.mark.azurite
def test_chaining_on_azurite_survives_a_restart(tmp_path: Path, azurite) -> None:
    hub = "Cli" + uuid.uuid4().hex[:10]
    host_json = '{"extensions": {"durableTask": {"hubName": "%TASKHUB_NAME%"}}}'
    settings = {"AzureWebJobsStorage": azurite.connection_string, "TASKHUB_NAME": hub}
    root = write_app(tmp_path / "azure", CHAINING_APP, host_json=host_json, settings=settings)
    # No --storage: it defaults to the AzureWebJobsStorage app setting, as with func.
    with devhost_process(root, storage="", env={}) as host, httpx.Client(timeout=10) as client:
        assert f"Azure Storage task hub '{hub}'" in host.output()
        r = client.post(f"{host.base_url}/api/orchestrators/function_chaining")
        status_url = r.json()["statusQueryGetUri"]
        output = poll_until_done(client, status_url)["output"]
        assert output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        host.restart()
        again = client.get(status_url)
        assert again.status_code == 200 and again.json()["runtimeStatus"] == "Completed"
        assert azurite.connection_string.split("AccountKey=")[1].split(";")[0] not in host.output()


def test_storage_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    root = write_app(tmp_path / "nostorage", CHAINING_APP)
    dead = "http://127.0.0.1:1/devstoreaccount1"
    conn = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={'A' * 86}==;"
            f"BlobEndpoint={dead};QueueEndpoint={dead};TableEndpoint={dead};")
    cmd = [sys.executable, "-m", "devhost", "start", "--app-root", str(root), "--port", "0",
           "--storage", conn]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("devhost: ") and "cannot be reached" in last
    assert "A" * 86 not in proc.stderr


def test_unsupported_triggers_and_bindings_are_announced(tmp_path: Path) -> None:
    from tests.devhost.host.apps import TIMER_APP

    root = write_app(tmp_path / "timer", TIMER_APP)
    with devhost_process(root, storage="memory") as host, httpx.Client(timeout=10) as client:
        out = host.output()
        assert "every_five_minutes: timerTrigger (not run by devhost)" in out
        assert "binding 'msg' of type queue is not supported by devhost" in out
        assert client.post(f"{host.base_url}/api/with-queue").status_code == 500
        assert client.get(f"{host.base_url}/admin/host/ping").status_code == 200


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    root = write_app(tmp_path / "busy", CHAINING_APP)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "devhost", "start", "--app-root", str(root), "--port", str(port),
               "--storage", "memory"]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"devhost: port {port} is already in use"
