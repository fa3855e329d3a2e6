"""Which functions the app settings disable, read as the WebJobs host reads them (PROTOCOL.md §38).

A function is disabled when the setting `AzureWebJobs.<FunctionName>.Disabled` or its Linux spelling
`AzureWebJobs_<FunctionName>_Disabled` is "true" or "1" (any case). Setting names are matched without regard
to case, as .NET configuration keys are. `AzureWebJobs__<FunctionName>__Disabled` is not one of them: the
host's configuration reads `__` as a section separator, so that name is a different key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def setting_names(function_name: str) -> tuple[str, str]:
    return f"AzureWebJobs.{function_name}.Disabled", f"AzureWebJobs_{function_name}_Disabled"


def _enabled(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true")


def disabled_functions(function_names: Iterable[str], settings: Mapping[str, str]) -> list[str]:
    """The names in `function_names` (kept in their order and spelling) whose disable setting is on."""
    folded: dict[str, str] = {}
    for key, value in settings.items():
        folded[key.lower()] = value
    return [
        name
        for name in function_names
        if any(_enabled(folded.get(setting.lower())) for setting in setting_names(name))
    ]
