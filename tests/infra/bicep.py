"""Offline reading of the Bicep templates under infra/: parse with pycep, walk the parsed tree,
and find the problems the infra tests forbid. The checks return lists of problems (not asserts)
so that tests can also prove each check catches a deliberately broken template."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

# pycep types the tree as a TypedDict (BicepJson); the checks walk it as plain JSON, read-only.
Template = Mapping[str, Any]

# Built-in role definition ids; the same GUIDs in every Azure tenant. Checked against Microsoft's
# "Azure built-in roles" reference and public Azure templates on 2026-11-20.
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Parameter names that must be @secure(), unless they only name or locate a secret.
_SECRETISH = re.compile(r"secret|password|passwd|token|connectionstring|apikey|accountkey|key$", re.I)
_LOCATOR = re.compile(r"(Name|Uri|Url|Id)$")
# A secret-bearing property or function anywhere in an output value.
_SECRET_ACCESS = re.compile(r"^list|connectionstring$|^primarykey$|^secondarykey$|instrumentationkey", re.I)


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parse(path: Path) -> Template:
    return BicepParser().parse(file_path=path)


def parse_text(text: str) -> Template:
    return BicepParser().parse(text=text)


def template(relative: str) -> Template:
    return parse(INFRA / relative)


def read(relative: str) -> str:
    return (INFRA / relative).read_text(encoding="utf-8")


# ---------------------------------------------------------------- walking the parsed tree


def walk(value: Any) -> Iterator[Any]:
    """Every node of a parsed value, depth first (dicts, lists and leaves)."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def leaf_strings(value: Any) -> Iterator[str]:
    for node in walk(value):
        if isinstance(node, str):
            yield node


def identifiers(value: Any) -> set[str]:
    """Names a value may refer to: bare identifiers and the names inside ${...} interpolations.

    pycep gives a literal 'x' and an identifier x the same leaf string, so this over-approximates,
    which is the safe direction for "does this output touch a secret"."""
    names: set[str] = set()
    for text in leaf_strings(value):
        if "${" in text:
            for expression in _INTERPOLATION.findall(text):
                names.update(_IDENTIFIER.findall(expression))
        elif _IDENTIFIER.fullmatch(text):
            names.add(text)
    return names


def accessed_members(value: Any) -> set[str]:
    """Property and function names reached through `.`, `::` or a call on a resource."""
    members: set[str] = set()
    for node in walk(value):
        if isinstance(node, dict):
            if isinstance(node.get("func_name"), str):
                members.add(node["func_name"])
            operands = node.get("operands")
            if isinstance(operands, dict) and isinstance(operands.get("operand_2"), str):
                members.add(operands["operand_2"])
        elif isinstance(node, str):
            for expression in _INTERPOLATION.findall(node):
                members.update(re.findall(r"[.:]([A-Za-z_][A-Za-z0-9_]*)", expression))
                members.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\(", expression))
    return members


def decorator(declaration: dict[str, Any], kind: str) -> Any:
    """The argument of a decorator (True when it takes none), or None when absent."""
    for item in declaration.get("decorators", []):
        if item["type"] == kind:
            return item.get("argument", True)
    return None


def resources(tpl: Template, type_: str, *, existing: bool = False) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in tpl.get("resources", {}).items()
        if res["type"].lower() == type_.lower() and res["existing"] == existing
    }


def only_resource(tpl: Template, type_: str) -> tuple[str, dict[str, Any]]:
    found = resources(tpl, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def resolve(tpl: Template, value: Any) -> Any:
    """A variable's value or a parameter's default in place of its name; anything else as is."""
    if isinstance(value, str):
        if value in tpl.get("variables", {}):
            return resolve(tpl, tpl["variables"][value]["value"])
        if value in tpl.get("parameters", {}):
            return tpl["parameters"][value]["default"]
    return value


def get_ci(mapping: dict[str, Any], key: str) -> Any:
    """ARM property names are case-insensitive; the schemas spell some with a capital."""
    for name, value in mapping.items():
        if name.lower() == key.lower():
            return value
    raise KeyError(key)


def app_settings(tpl: Template) -> dict[str, Any]:
    """The app settings object of the function app (a literal object, so every key is visible)."""
    configs = {
        n: r
        for n, r in resources(tpl, "Microsoft.Web/sites/config").items()
        if r["config"]["name"] == "appsettings"
    }
    assert len(configs) == 1, f"expected one appsettings resource, found {sorted(configs)}"
    settings = next(iter(configs.values()))["config"]["properties"]
    assert isinstance(settings, dict) and "function" not in settings, (
        "app settings must be a literal object so every setting can be checked offline"
    )
    return settings


# ---------------------------------------------------------------- checks (lists of problems)


def shared_key_problems(tpl: Template) -> list[str]:
    problems = []
    for name, res in resources(tpl, "Microsoft.Storage/storageAccounts").items():
        if res["config"].get("properties", {}).get("allowSharedKeyAccess") is not False:
            problems.append(f"storage account {name}: allowSharedKeyAccess is not false")
    for member in accessed_members(tpl):
        if member.lower().startswith("listkeys") or member.lower() == "listaccountsas":
            problems.append(f"template reads account keys via {member}")
    return problems


def durable_storage_problems(tpl: Template) -> list[str]:
    """Durable Functions on Azure Storage uses blobs, queues and tables of one account."""
    problems = []
    for account in resources(tpl, "Microsoft.Storage/storageAccounts"):
        for service in ("blobServices", "queueServices", "tableServices"):
            children = [
                r
                for r in resources(tpl, f"Microsoft.Storage/storageAccounts/{service}").values()
                if r["config"].get("parent") == account
            ]
            if not children:
                problems.append(f"storage account {account}: no {service} resource")
    return problems


def role_assignments(tpl: Template) -> dict[str, dict[str, Any]]:
    """Role assignment name -> role definition GUID, principal, principal type and scope."""
    found = {}
    for name, res in resources(tpl, "Microsoft.Authorization/roleAssignments").items():
        props = res["config"]["properties"]
        definition = props["roleDefinitionId"]["function"]
        assert definition["type"] == "subscription_resource_id", f"{name}: roleDefinitionId form"
        assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        found[name] = {
            "role": resolve(tpl, definition["parameters"]["resource_name_1"]),
            "principalId": props["principalId"],
            "principalType": props.get("principalType"),
            "scope": res["config"].get("scope"),
        }
    return found


def secure_parameters(tpl: Template) -> set[str]:
    return {n for n, p in tpl.get("parameters", {}).items() if decorator(p, "secure")}


def secret_problems(tpl: Template) -> list[str]:
    problems = []
    secure = secure_parameters(tpl)
    for name, param in tpl.get("parameters", {}).items():
        if _SECRETISH.search(name) and not _LOCATOR.search(name) and name not in secure:
            problems.append(f"parameter {name} looks secret but is not @secure()")
        if name in secure and param["default"] is not None:
            problems.append(f"@secure() parameter {name} has a default value in the template")
    for name, output in tpl.get("outputs", {}).items():
        if decorator(output, "secure"):
            continue
        leaked = identifiers(output["value"]) & secure
        if leaked:
            problems.append(f"output {name} exposes @secure() parameter(s) {sorted(leaked)}")
        touched = {m for m in accessed_members(output["value"]) if _SECRET_ACCESS.search(m)}
        if touched:
            problems.append(f"output {name} reads secret-bearing member(s) {sorted(touched)}")
        secret_resources = set(resources(tpl, "Microsoft.KeyVault/vaults/secrets"))
        if identifiers(output["value"]) & secret_resources and "value" in accessed_members(output["value"]):
            problems.append(f"output {name} reads a Key Vault secret's value")
    for name, var in tpl.get("variables", {}).items():
        leaked = identifiers(var["value"]) & secure
        if leaked:
            problems.append(
                f"variable {name} copies @secure() parameter(s) {sorted(leaked)} out of the secure type"
            )
    return problems
