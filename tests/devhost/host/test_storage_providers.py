"""A host.json asking for a storage provider devhost does not implement gets one line saying what to do
(devhost runs task hubs on Azure Storage or in memory), never a misleading connection-string error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.config import load_host_config
from tests.devhost.host.apps import CHAINING_APP, write_app
from tests.support.devhost import REPO_ROOT


def host_json(provider: str) -> str:
    storage = {"type": provider, "connectionStringName": "SQLDB_Connection"}
    return json.dumps({"version": "2.0", "extensions": {"durableTask": {"storageProvider": storage}}})


@pytest.mark.parametrize("provider", ["mssql", "Netherite", "azureManaged"])
def test_a_foreign_provider_without_storage_is_one_line(tmp_path: Path, provider: str) -> None:
    root = write_app(tmp_path / "app", CHAINING_APP, host_json=host_json(provider))
    cmd = [sys.executable, "-m", "devhost", "start", "--app-root", str(root), "--port", "0"]
    env = {"PATH": "/usr/bin:/bin", "SQLDB_Connection": "Server=tcp:db;Database=hub;Password=secret-pw"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"devhost: host.json asks for the {provider} storage provider")
    assert "--storage memory" in line and "secret-pw" not in proc.stderr


def test_azure_storage_named_explicitly_is_ours(tmp_path: Path) -> None:
    root = write_app(tmp_path / "app", CHAINING_APP, host_json=host_json("AzureStorage"))
    assert not load_host_config(root, {}).foreign_storage_provider
    root = write_app(tmp_path / "plain", CHAINING_APP)
    assert not load_host_config(root, {}).foreign_storage_provider
    root = write_app(tmp_path / "sql", CHAINING_APP, host_json=host_json("mssql"))
    assert load_host_config(root, {}).foreign_storage_provider
