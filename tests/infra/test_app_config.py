"""host.json and local.settings.json at the repository root against the published JSON schemas
(copies in tests/schemas/, see SOURCE.md there), and against what the Azure deployment configures:
the task hub name comes from TASKHUB_NAME, the worker thread pool covers host.json's concurrency,
and every app-level setting used locally is also set in Azure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema.validators import validator_for

from tests.infra import bicep

SCHEMAS = bicep.REPO / "tests" / "schemas"
# Settings that exist only locally (Core Tools / devhost), or that Flex sets from functionAppConfig.
LOCAL_ONLY = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage", "AZURE_FUNCTIONS_ENVIRONMENT"}


def _document(name: str) -> dict[str, Any]:
    path = bicep.REPO / name
    assert path.is_file(), f"{name} is missing at the repository root"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{name} is not a JSON object"
    return document


def _errors(schema_name: str, document: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / schema_name).read_text(encoding="utf-8"))
    validator = validator_for(schema)
    validator.check_schema(schema)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator(schema).iter_errors(document)]


def test_host_json_validates_against_its_published_schema() -> None:
    assert _errors("host.schema.json", _document("host.json")) == []


def test_local_settings_json_validates_against_its_published_schema() -> None:
    assert _errors("local.settings.schema.json", _document("local.settings.json")) == []


@pytest.mark.parametrize(
    ("schema", "document"),
    [
        ("host.schema.json", {"version": "3.0"}),
        ("host.schema.json", {"version": "2.0", "functionTimeout": "ten minutes"}),
        ("host.schema.json", {"version": "2.0", "extensions": {"durableTask": {"noSuchOption": 1}}}),
        ("local.settings.schema.json", {"IsEncrypted": "no", "Values": {}}),
        ("local.settings.schema.json", {"Values": {"FUNCTIONS_WORKER_RUNTIME": "cobol"}}),
    ],
)
def test_the_schemas_reject_invalid_documents(schema: str, document: dict[str, Any]) -> None:
    assert _errors(schema, document)


def test_host_json_takes_the_task_hub_from_the_app_setting() -> None:
    durable = _document("host.json")["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert "TASKHUB_NAME" in bicep.app_settings(bicep.template("app/function.bicep"))


def test_extension_bundle_is_one_flex_consumption_supports() -> None:
    # Flex Consumption needs extension bundle 4.x or later for non-.NET apps.
    bundle = _document("host.json")["extensionBundle"]
    assert bundle["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert bundle["version"].startswith("[4.")


def test_thread_pool_covers_host_json_durable_concurrency() -> None:
    durable = _document("host.json")["extensions"]["durableTask"]
    activities = durable.get("maxConcurrentActivityFunctions")
    orchestrators = durable.get("maxConcurrentOrchestratorFunctions")
    assert isinstance(activities, int) and isinstance(orchestrators, int), (
        "host.json should bound Durable concurrency explicitly; the defaults scale with CPU count"
    )
    threads = bicep.template("main.bicep")["parameters"]["pythonThreadpoolThreadCount"]["default"]
    assert threads >= activities + orchestrators
    assert (
        bicep.template("app/function.bicep")["parameters"]["pythonThreadpoolThreadCount"]["default"]
        == threads
    )


def test_every_app_setting_used_locally_is_configured_in_azure() -> None:
    local = set(_document("local.settings.json")["Values"])
    azure = set(bicep.app_settings(bicep.template("app/function.bicep")))
    missing = local - LOCAL_ONLY - azure
    assert missing == set(), f"set locally but not in infra/app/function.bicep: {sorted(missing)}"


def test_local_task_hub_differs_from_the_cloud_default() -> None:
    # Two hosts sharing one storage account must not share a task hub.
    local = _document("local.settings.json")["Values"]["TASKHUB_NAME"]
    assert local != bicep.template("main.bicep")["parameters"]["taskHubName"]["default"]
