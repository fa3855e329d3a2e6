"""Every Bicep file parses, modules are wired to what they declare, and the house style holds:
@description everywhere, names from abbreviations.json plus the resource token, azd-env-name
tags, UPPER_SNAKE outputs for azd."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra import bicep

MAIN = "main.bicep"


def _module_path(spec: dict[str, Any]) -> Path:
    assert spec["type"] == "local", f"only local modules are used, got {spec['type']}"
    relative: str = spec["detail"]["path"]
    return (bicep.INFRA / relative).resolve()


def _modules() -> dict[str, tuple[dict[str, Any], bicep.Template]]:
    main = bicep.template(MAIN)
    return {name: (spec, bicep.parse(_module_path(spec))) for name, spec in main["modules"].items()}


def test_the_expected_templates_exist() -> None:
    names = {p.relative_to(bicep.INFRA).as_posix() for p in bicep.bicep_files()}
    assert names == {
        "main.bicep",
        "app/identity.bicep",
        "app/storage.bicep",
        "app/monitoring.bicep",
        "app/keyvault.bicep",
        "app/function.bicep",
    }


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    tpl = bicep.parse(path)
    assert tpl.get("resources") or tpl.get("modules"), f"{path} declares nothing"


def test_a_broken_template_does_not_parse() -> None:
    # The parse test above means something only if pycep rejects what Bicep would reject.
    broken = bicep.read("app/identity.bicep").replace("resource identity", "resource identity {", 1)
    with pytest.raises(Exception):  # noqa: B017 - lark raises several error types
        bicep.parse_text(broken)


def test_main_deploys_at_subscription_scope_and_creates_the_resource_group() -> None:
    main = bicep.template(MAIN)
    assert main["globals"]["scope"]["value"] == "subscription"
    name, rg = bicep.only_resource(main, "Microsoft.Resources/resourceGroups")
    for spec in main["modules"].values():
        assert spec["config"]["scope"] == name, "every module deploys into the created resource group"


def test_every_module_file_is_used_by_main() -> None:
    used = {_module_path(spec) for spec in bicep.template(MAIN)["modules"].values()}
    assert used == {p.resolve() for p in (bicep.INFRA / "app").glob("*.bicep")}


@pytest.mark.parametrize("module", sorted(bicep.template(MAIN)["modules"]))
def test_module_parameters_match_what_the_module_declares(module: str) -> None:
    spec, tpl = _modules()[module]
    passed = set(spec["config"]["params"])
    declared = tpl.get("parameters", {})
    required = {n for n, p in declared.items() if p["default"] is None}
    assert passed <= set(declared), f"unknown parameters passed to {module}: {passed - set(declared)}"
    assert required <= passed, f"required parameters not passed to {module}: {required - passed}"


def test_module_outputs_used_by_main_exist() -> None:
    main = bicep.template(MAIN)
    modules = _modules()
    used = re.findall(r"\b(\w+)\.outputs\.(\w+)", json.dumps(main))
    # Property accessors are nested dicts in pycep's tree; interpolations are plain text.
    for node in bicep.walk(main):
        if isinstance(node, dict) and node.get("type") == "property_accessor":
            first, second = node["operands"]["operand_1"], node["operands"]["operand_2"]
            if isinstance(first, str) and first in modules and isinstance(second, dict):
                inner = second["operator"]["operands"]
                if inner["operand_1"] == "outputs":
                    used.append((first, inner["operand_2"]))
    assert used, "main.bicep reads no module outputs; the walker is broken"
    for module, output in used:
        assert output in modules[module][1].get("outputs", {}), f"{module}.outputs.{output} does not exist"


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_every_parameter_and_output_has_a_description(path: Path) -> None:
    tpl = bicep.parse(path)
    for kind in ("parameters", "outputs"):
        for name, declaration in tpl.get(kind, {}).items():
            description = bicep.decorator(declaration, "description")
            assert isinstance(description, str) and description.strip(), f"{path.name}: {kind} {name}"


def test_main_outputs_are_upper_snake_for_azd() -> None:
    outputs = bicep.template(MAIN)["outputs"]
    assert {"AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME"} <= set(
        outputs
    )
    for name in outputs:
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", name), name


def test_resource_names_come_from_abbreviations_and_the_resource_token() -> None:
    main = bicep.template(MAIN)
    abbreviations = json.loads(bicep.read("abbreviations.json"))
    token = main["variables"]["resourceToken"]["value"]
    assert "uniqueString" in json.dumps(token) or "unique_string" in json.dumps(token)
    used = set(re.findall(r"abbrs\.(\w+)", json.dumps(main)))
    assert used, "no name uses abbreviations.json"
    assert used <= set(abbreviations), f"unknown abbreviations: {used - set(abbreviations)}"
    candidates = [
        spec["config"]["params"].get(key)
        for spec in main["modules"].values()
        for key in ("name", "planName", "logAnalyticsName", "applicationInsightsName")
    ]
    # Modules that receive another module's output name nothing themselves.
    names = {bicep.resolve(main, n) for n in candidates if isinstance(n, str)}
    # identity, storage, log analytics, app insights, key vault, plan, function app
    assert len(names) == 7, names
    for name in names:
        assert re.fullmatch(r"\$\{abbrs\.\w+\}[a-z-]*\$\{resourceToken\}", name), name
    _, rg = bicep.only_resource(main, "Microsoft.Resources/resourceGroups")
    assert rg["config"]["name"] == "${abbrs.resourcesResourceGroups}${environmentName}"


def test_every_resource_with_a_location_is_tagged_with_the_azd_environment() -> None:
    main = bicep.template(MAIN)
    assert main["variables"]["tags"]["value"] == {"'azd-env-name'": "environmentName"}
    for spec in main["modules"].values():
        assert spec["config"]["params"]["tags"] == "tags"
    for path in bicep.bicep_files():
        tpl = bicep.parse(path)
        for name, res in tpl.get("resources", {}).items():
            if not res["existing"] and "location" in res["config"]:
                assert "tags" in res["config"], f"{path.name}: {name} has no tags"


def test_the_function_app_carries_the_azd_service_tag_of_azure_yaml() -> None:
    fn = bicep.template("app/function.bicep")
    _, site = bicep.only_resource(fn, "Microsoft.Web/sites")
    tags = site["config"]["tags"]["function"]
    assert tags["type"] == "union"
    assert tags["parameters"]["arg_2"] == {"'azd-service-name'": "serviceName"}
    passed = bicep.template(MAIN)["modules"]["functionApp"]["config"]["params"]["serviceName"]
    assert passed == "api" == fn["parameters"]["serviceName"]["default"]


def test_parameters_file_maps_every_required_parameter_to_an_azd_variable() -> None:
    main = bicep.template(MAIN)
    document = json.loads(bicep.read("main.parameters.json"))
    values = {name: entry["value"] for name, entry in document["parameters"].items()}
    required = {n for n, p in main["parameters"].items() if p["default"] is None}
    assert set(values) <= set(main["parameters"]), f"unknown: {set(values) - set(main['parameters'])}"
    assert required <= set(values), f"not mapped: {required - set(values)}"
    for name, value in values.items():
        # Only ${VAR} references: a value typed into this file would be committed.
        assert re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*\}", value), f"{name}: {value!r}"
    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["location"] == "${AZURE_LOCATION}"
