"""host.json and local.settings.json as the Functions host reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devhost.config import (
    ConfigError,
    apply_local_settings,
    load_host_config,
    load_local_settings,
    parse_timespan,
)


def write(root: Path, host: dict[str, Any] | str) -> Path:
    (root / "host.json").write_text(host if isinstance(host, str) else json.dumps(host))
    return root


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:30", 30.0), ("00:05:00", 300.0), ("1.02:00:00", 93600.0), ("00:00:00.5", 0.5)],
)
def test_timespan(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds


def test_timespan_rejects_garbage() -> None:
    with pytest.raises(ConfigError):
        parse_timespan("30s")


def test_defaults_without_host_json(tmp_path: Path) -> None:
    config = load_host_config(tmp_path, {})
    assert (config.route_prefix, config.hub_name, config.connection_name) == ("api", "TestHubName",
                                                                              "AzureWebJobsStorage")
    assert config.partition_count == 4 and config.max_queue_polling_interval == 30.0
    assert config.overridable_states == "NonRunningStates"


def test_site_name_is_the_default_hub(tmp_path: Path) -> None:
    assert load_host_config(tmp_path, {"WEBSITE_SITE_NAME": "my-app-01"}).hub_name == "myapp01"


def test_values_substitution_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, {
        "extensions": {
            "http": {"routePrefix": "/v2/"},
            "durableTask": {
                "HubName": "%HUB%",
                "maxConcurrentActivityFunctions": 3,
                "maxConcurrentOrchestratorFunctions": 2,
                "storageProvider": {"partitionCount": 8, "maxQueuePollingInterval": "00:00:02",
                                    "connectionName": "MyStorage"},
            },
        },
    })
    env = {"HUB": "Hub42", "AzureFunctionsJobHost__extensions__http__routePrefix": ""}
    config = load_host_config(tmp_path, env)
    assert config.hub_name == "Hub42"
    assert config.route_prefix == ""  # an app setting overrides host.json
    assert config.max_concurrent_activities == 3 and config.max_concurrent_orchestrations == 2
    assert config.partition_count == 8 and config.max_queue_polling_interval == 2.0
    assert config.connection_name == "MyStorage"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"extensions": {"durableTask": {"hubName": "%NOPE%"}}}, "app setting %NOPE% which is not set"),
        ({"extensions": {"durableTask": {"hubName": "bad-hub"}}}, "task hub name 'bad-hub' is invalid"),
        ({"extensions": {"durableTask": {"storageProvider": {"partitionCount": 17}}}}, "between 1 and 16"),
        ({"extensions": {"durableTask": {"overridableExistingInstanceStates": "Some"}}}, "AnyState"),
        ("{not json", "host.json is not valid JSON"),
    ],
)
def test_bad_host_json(tmp_path: Path, host: dict[str, Any] | str, message: str) -> None:
    write(tmp_path, host)
    with pytest.raises(ConfigError, match=message.replace("%", "%").replace("(", r"\(")):
        load_host_config(tmp_path, {})


def test_local_settings_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file", "N": None}, "Host": {}}))
    env = {"A": "from-env"}
    applied = apply_local_settings(load_local_settings(tmp_path), env)
    assert env == {"A": "from-env", "B": "from-file", "N": ""}
    assert sorted(applied) == ["B", "N"]


def test_encrypted_local_settings_refused(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": True, "Values": {}}))
    with pytest.raises(ConfigError, match="encrypted"):
        load_local_settings(tmp_path)


def test_missing_local_settings_is_fine(tmp_path: Path) -> None:
    assert load_local_settings(tmp_path) == {}
