"""Host configuration as the Functions host reads it: host.json, local.settings.json and app settings.

Only the settings devhost acts on are modelled; everything else in host.json is accepted and ignored,
as the real host ignores settings of extensions it does not load.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from devhost.versioning import FailureStrategy, MatchStrategy, Versioning

log = logging.getLogger(__name__)

DEFAULT_HUB = "TestHubName"
DEFAULT_CONNECTION = "AzureWebJobsStorage"
# The host overrides host.json from app settings named like this (AzureFunctionsJobHost__a__b = a.b).
_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
_SETTING_REF = re.compile(r"%([^%]+)%")
# .NET TimeSpan "c" format: [-][d.]hh:mm:ss[.fffffff]
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
# Azure Storage hub names: letters and digits, starting with a letter, 3-45 characters.
_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")


class ConfigError(ValueError):
    """host.json or local.settings.json is unusable; the message is one line for the console."""


@dataclass(frozen=True)
class HostConfig:
    """What devhost takes from host.json (after `%SETTING%` substitution and app-setting overrides)."""

    route_prefix: str = "api"
    hub_name: str = DEFAULT_HUB
    connection_name: str = DEFAULT_CONNECTION
    max_concurrent_activities: int = 10
    max_concurrent_orchestrations: int = 10
    max_queue_polling_interval: float = 30.0
    partition_count: int = 4
    # storageProvider.controlQueueBufferThreshold: control-queue messages held in memory before receiving
    # pauses (PROTOCOL.md §6.1; the extension's default, 1-1000).
    control_queue_buffer_threshold: int = 256
    # storageProvider.controlQueueVisibilityTimeout in seconds when given (1-60 minutes, as the extension
    # allows); None keeps devhost's short renewed lease: a killed host's work resumes seconds after a restart.
    control_queue_visibility_timeout: float | None = None
    overridable_states: str = "NonRunningStates"  # overridableExistingInstanceStates: or "AnyState"
    # extensions.durableTask.storageProvider.type as written ("" = not given, which means Azure Storage).
    storage_provider: str = ""
    versioning: Versioning = Versioning()
    # extensions.durableTask.tracing: distributedTracingEnabled with version V2 (PROTOCOL.md §35).
    distributed_tracing: bool = False

    @property
    def foreign_storage_provider(self) -> bool:
        """host.json names a backend devhost does not implement (the Durable Task Scheduler `azureManaged`,
        `Netherite`, `mssql`): its connection setting holds no Azure Storage connection string."""
        return self.storage_provider.lower() not in ("", "azurestorage")


def parse_timespan(text: str) -> float:
    """Seconds in a .NET TimeSpan string such as `00:00:30` or `1.02:00:00.5`."""
    m = _TIMESPAN.match(text.strip())
    if not m:
        raise ConfigError(f"not a TimeSpan (expected [d.]hh:mm:ss[.fffffff]): {text!r}")
    days, hours, minutes, seconds, fraction = m.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def substitute_settings(value: str, env: Mapping[str, str]) -> str:
    """Replace `%Name%` references with app settings, as the host does for hubName and friends."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(f"host.json refers to app setting %{name}% which is not set")
        return env[name]

    return _SETTING_REF.sub(repl, value)


def load_json_file(path: Path) -> dict[str, Any]:
    """A JSON object from disk, or a one-line ConfigError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid JSON: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must hold a JSON object")
    return data


def load_local_settings(app_root: Path) -> dict[str, Any]:
    """local.settings.json, or {} when the app has none (func treats it as optional too)."""
    path = app_root / "local.settings.json"
    if not path.exists():
        return {}
    data = load_json_file(path)
    if data.get("IsEncrypted") is True:
        raise ConfigError(
            "local.settings.json is encrypted (IsEncrypted: true); devhost reads plain values only"
        )
    return data


def apply_local_settings(settings: Mapping[str, Any], env: MutableMapping[str, str]) -> list[str]:
    """Copy `Values` into the environment unless already set: the environment wins, as with func.

    Returns the names applied (never the values: they may be secrets).
    """
    values = settings.get("Values") or {}
    if not isinstance(values, dict):
        raise ConfigError("local.settings.json: Values must be an object")
    applied = []
    for name, value in values.items():
        if name in env:
            continue
        env[name] = "" if value is None else str(value)
        applied.append(name)
    return applied


def _apply_overrides(host: dict[str, Any], env: Mapping[str, str]) -> None:
    for key, value in env.items():
        if not key.startswith(_OVERRIDE_PREFIX):
            continue
        path = key[len(_OVERRIDE_PREFIX):].split("__")
        node = host
        for part in path[:-1]:
            child = _get_ci(node, part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        existing = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
        node[existing] = value


def _get_ci(node: Mapping[str, Any], key: str) -> Any:
    """host.json keys are case-insensitive in the host (it reads them through IConfiguration)."""
    for k, v in node.items():
        if k.lower() == key.lower():
            return v
    return None


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"host.json: {name} must be an integer, got {value!r}") from exc
    if not low <= number <= high:
        raise ConfigError(f"host.json: {name} must be between {low} and {high}, got {number}")
    return number


def load_host_config(app_root: Path, env: Mapping[str, str]) -> HostConfig:
    """Read host.json (optional, as for func) with app-setting overrides and `%SETTING%` substitution."""
    path = app_root / "host.json"
    host = load_json_file(path) if path.exists() else {}
    _apply_overrides(host, env)
    extensions = _get_ci(host, "extensions") or {}
    http = _get_ci(extensions, "http") or {}
    durable = _get_ci(extensions, "durableTask") or {}
    provider = _get_ci(durable, "storageProvider") or {}

    prefix = _get_ci(http, "routePrefix")
    route_prefix = "api" if prefix is None else str(prefix).strip("/")

    raw_hub = _get_ci(durable, "hubName")
    if raw_hub is None:
        hub = env.get("WEBSITE_SITE_NAME") or DEFAULT_HUB
        # The extension strips what Azure Storage does not allow from a site-derived name.
        hub = re.sub(r"[^A-Za-z0-9]", "", hub) or DEFAULT_HUB
    else:
        hub = substitute_settings(str(raw_hub), env)
    if not _HUB_NAME.match(hub):
        raise ConfigError(
            f"task hub name {hub!r} is invalid: "
            "letters and digits only, starting with a letter, 3-45 characters"
        )

    connection = _get_ci(provider, "connectionName") or _get_ci(provider, "connectionStringName")
    cpus = os.cpu_count() or 1
    activities = _get_ci(durable, "maxConcurrentActivityFunctions")
    orchestrations = _get_ci(durable, "maxConcurrentOrchestratorFunctions")
    polling = _get_ci(provider, "maxQueuePollingInterval")
    partitions = _get_ci(provider, "partitionCount")
    buffer = _get_ci(provider, "controlQueueBufferThreshold")
    visibility = _get_ci(provider, "controlQueueVisibilityTimeout")
    return HostConfig(
        route_prefix=route_prefix,
        hub_name=hub,
        connection_name=str(connection) if connection else DEFAULT_CONNECTION,
        max_concurrent_activities=(
            10 * cpus if activities is None else _int(activities, "maxConcurrentActivityFunctions", 1, 10_000)
        ),
        max_concurrent_orchestrations=(
            10 * cpus
            if orchestrations is None
            else _int(orchestrations, "maxConcurrentOrchestratorFunctions", 1, 10_000)
        ),
        max_queue_polling_interval=30.0 if polling is None else parse_timespan(str(polling)),
        partition_count=4 if partitions is None else _int(partitions, "partitionCount", 1, 16),
        control_queue_buffer_threshold=(
            256 if buffer is None else _int(buffer, "controlQueueBufferThreshold", 1, 1000)
        ),
        control_queue_visibility_timeout=None if visibility is None else _visibility(str(visibility)),
        overridable_states=_overridable(_get_ci(durable, "overridableExistingInstanceStates")),
        storage_provider=str(_get_ci(provider, "type") or ""),
        versioning=_versioning(durable, env),
        distributed_tracing=_distributed_tracing(_get_ci(durable, "tracing") or {}),
    )


def _visibility(text: str) -> float:
    seconds = parse_timespan(text)
    if not 60 <= seconds <= 3600:
        raise ConfigError(
            f"host.json: controlQueueVisibilityTimeout must be between 1 and 60 minutes, got {text}"
        )
    return seconds


def _distributed_tracing(tracing: Mapping[str, Any]) -> bool:
    enabled = _get_ci(tracing, "distributedTracingEnabled")
    version = _get_ci(tracing, "version")
    return str(enabled).lower() == "true" and str(version or "").upper() == "V2"


def _versioning(durable: Mapping[str, Any], env: Mapping[str, str]) -> Versioning:
    """defaultVersion, versionMatchStrategy and versionFailureStrategy (names case-insensitive)."""
    default = _get_ci(durable, "defaultVersion")
    match = _choice(_get_ci(durable, "versionMatchStrategy"), MatchStrategy, "versionMatchStrategy")
    failure = _choice(_get_ci(durable, "versionFailureStrategy"), FailureStrategy, "versionFailureStrategy")
    return Versioning(
        default_version="" if default is None else substitute_settings(config_text(default), env),
        match=MatchStrategy.CURRENT_OR_OLDER if match is None else MatchStrategy(match),
        failure=FailureStrategy.REJECT if failure is None else FailureStrategy(failure),
    )


def config_text(value: Any) -> str:
    """A host.json scalar as the host's configuration holds it: text, as Newtonsoft.Json writes the value.

    The host parses host.json with Newtonsoft (numbers with a fraction become doubles) and stores each
    scalar's invariant-culture text, so `"defaultVersion": 1.10` is the version "1.1", `1.0` is "1" and
    `true` is "True" (PROTOCOL.md §7). Quote a version to keep its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _dotnet_double(value)
    return str(value)


def _dotnet_double(value: float) -> str:
    """.NET's shortest round-trip text of a double: fixed for exponents -4..14, else `d.dddE+XX`."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + int(exponent)  # the decimal exponent of the first digit
    if text == "0":
        body = "0"
    elif -4 <= power < 15:
        body = format(Decimal(repr(abs(value))).normalize(), "f")
    else:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}E{'-' if power < 0 else '+'}{abs(power):02d}"
    return ("-" if sign else "") + body


def _choice(value: Any, choices: type[StrEnum], name: str) -> str | None:
    if value is None:
        return None
    for choice in choices:
        if str(value).lower() == choice.value.lower():
            return choice.value
    allowed = ", ".join(c.value for c in choices)
    raise ConfigError(f"host.json {name} {value!r} is not one of {allowed}")


def _overridable(value: Any) -> str:
    if value is None:
        return "NonRunningStates"
    text = str(value)
    if text.lower() not in ("nonrunningstates", "anystate"):
        raise ConfigError(
            f"host.json: overridableExistingInstanceStates must be NonRunningStates or AnyState, got {text!r}"
        )
    return text
