"""`devhost history export --url` reads a running devhost — whatever its store, even memory — through
its dashboard API, and the files it writes replay against the app that made them."""

from __future__ import annotations

from pathlib import Path

import httpx

from devhost.replay_gate import read_history_file
from tests.devhost.host.apps import CHAINING_APP, write_app
from tests.devhost.host.test_cli import poll_until_done
from tests.support.devhost import devhost_command, devhost_process


def test_histories_exported_from_a_running_in_memory_host_replay(tmp_path: Path) -> None:
    root = write_app(tmp_path / "chaining", CHAINING_APP)
    out = tmp_path / "histories"
    with devhost_process(root, storage="memory") as host, httpx.Client(timeout=10) as client:
        started = client.post(f"{host.base_url}/api/orchestrators/function_chaining").json()
        assert poll_until_done(client, started["statusQueryGetUri"])["runtimeStatus"] == "Completed"
        exported = devhost_command(
            "history", "export", "--url", host.base_url, "--name", "function_chaining", "--out", str(out)
        )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    (file,) = out.glob("*.json")
    assert read_history_file(file).instance_id == started["id"]
    replayed = devhost_command("replay", "--app-root", str(root), str(out))
    assert replayed.returncode == 0, replayed.stdout
    assert replayed.stdout.splitlines()[-1] == "1 histories: 1 ok, 0 diverged, 0 bad"


def test_a_url_that_is_no_devhost_is_one_line(tmp_path: Path) -> None:
    result = devhost_command(
        "history", "export", "--url", "http://127.0.0.1:9", "--name", "x", "--out", str(tmp_path)
    )
    assert result.returncode == 4 and result.stdout.startswith("devhost: http://127.0.0.1:9 did not answer")
