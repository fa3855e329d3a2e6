"""The function app: Flex Consumption (FC1) on Python 3.11, deployed from a blob container with
the user-assigned identity, identity-based AzureWebJobsStorage, and every app setting that the
contract (booking-api.md, "App settings") says the app reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra import bicep

FUNCTION = "app/function.bicep"

# Flex Consumption takes these from functionAppConfig or does not allow them at all; setting
# them as app settings makes the deployment fail or is ignored (Flex Consumption deprecations).
FLEX_REJECTED_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
}


def _settings() -> dict[str, Any]:
    return bicep.app_settings(bicep.template(FUNCTION))


def _documented_settings() -> set[str]:
    text = (bicep.REPO / "docs" / "booking-api.md").read_text(encoding="utf-8")
    section = text.split("## App settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Za-z][A-Za-z0-9_]*)`", line.split("|")[1]))
    return names


def test_plan_is_flex_consumption_fc1_on_linux() -> None:
    _, plan = bicep.only_resource(bicep.template(FUNCTION), "Microsoft.Web/serverfarms")
    assert plan["config"]["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["config"]["properties"]["reserved"] is True


def test_app_runs_python_3_11() -> None:
    tpl = bicep.template(FUNCTION)
    _, site = bicep.only_resource(tpl, "Microsoft.Web/sites")
    assert site["config"]["kind"] == "functionapp,linux"
    assert site["config"]["properties"]["serverFarmId"]["operator"]["operands"]["operand_1"] == "plan"
    runtime = site["config"]["properties"]["functionAppConfig"]["runtime"]
    assert runtime["name"] == "python"
    assert bicep.resolve(tpl, runtime["version"]) == "3.11"
    # The parameter cannot be set to anything else either.
    assert bicep.decorator(tpl["parameters"]["pythonVersion"], "allowed") == ["3.11"]
    assert "pythonVersion" not in bicep.template("main.bicep")["modules"]["functionApp"]["config"]["params"]


def test_deployment_package_is_read_with_the_user_assigned_identity() -> None:
    _, site = bicep.only_resource(bicep.template(FUNCTION), "Microsoft.Web/sites")
    config = site["config"]["properties"]["functionAppConfig"]
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${storage.properties.primaryEndpoints.blob}${deploymentContainerName}"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert set(config["scaleAndConcurrency"]) == {"maximumInstanceCount", "instanceMemoryMB"}
    assert site["config"]["properties"]["httpsOnly"] is True


def test_deployment_container_is_the_one_storage_creates() -> None:
    params = {m: s["config"]["params"] for m, s in bicep.template("main.bicep")["modules"].items()}
    assert params["storage"]["deploymentContainerName"] == "deploymentContainerName"
    assert params["functionApp"]["deploymentContainerName"] == "deploymentContainerName"
    assert params["functionApp"]["storageAccountName"]["operator"]["operands"]["operand_1"] == "storage"


def test_publishing_passwords_are_disabled() -> None:
    policies = bicep.resources(
        bicep.template(FUNCTION), "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert {p["config"]["name"]: p["config"]["properties"]["allow"] for p in policies.values()} == {
        "ftp": False,
        "scm": False,
    }


def test_host_storage_is_identity_based() -> None:
    settings = _settings()
    assert "AzureWebJobsStorage" not in settings, "a connection string would need an account key"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        uri = json.dumps(settings[f"AzureWebJobsStorage__{service}ServiceUri"])
        assert f'"primaryEndpoints", "operand_2": "{service}"' in uri


def test_flex_consumption_rejected_settings_are_absent() -> None:
    assert FLEX_REJECTED_SETTINGS.isdisjoint(_settings())


def test_every_setting_the_app_reads_is_configured() -> None:
    documented = _documented_settings()
    assert len(documented) >= 14, f"parsing booking-api.md found only {sorted(documented)}"
    settings = _settings()
    for name in sorted(documented):
        if name == "AzureWebJobsStorage":
            assert any(key.startswith("AzureWebJobsStorage__") for key in settings)
        else:
            assert name in settings, f"{name} is in booking-api.md but not in the app settings"


@pytest.mark.parametrize(
    ("setting", "parameter"),
    [
        ("CONFERENCE_API_URL", "conferenceApiUrl"),
        ("AIRLINE_API_URL", "airlineApiUrl"),
        ("RAIL_API_URL", "railApiUrl"),
        ("HOTEL_API_URL", "hotelApiUrl"),
        ("PAYMENT_API_URL", "paymentApiUrl"),
        ("EXPENSE_API_URL", "expenseApiUrl"),
        ("TASKHUB_NAME", "taskHubName"),
        ("AzureFunctionsJobHost__extensions__durableTask__defaultVersion", "orchestrationVersion"),
        ("SUPPLIER_RETRY_BACKOFF", "supplierRetryBackoff"),
    ],
)
def test_settings_come_from_main_parameters(setting: str, parameter: str) -> None:
    assert _settings()[setting] == parameter
    main = bicep.template("main.bicep")
    assert main["modules"]["functionApp"]["config"]["params"][parameter] == parameter
    assert parameter in main["parameters"]


@pytest.mark.parametrize(
    ("setting", "parameter", "default"),
    [
        ("PAYMENT_TIMEOUT_SECONDS", "paymentTimeoutSeconds", 900),
        ("SUPPLIER_RETRY_FIRST_INTERVAL_MS", "supplierRetryFirstIntervalMs", 1000),
        ("SUPPLIER_RETRY_MAX_INTERVAL_MS", "supplierRetryMaxIntervalMs", 60000),
        ("SUPPLIER_RETRY_MAX_ATTEMPTS", "supplierRetryMaxAttempts", 5),
        ("PYTHON_THREADPOOL_THREAD_COUNT", "pythonThreadpoolThreadCount", 24),
    ],
)
def test_numeric_settings_are_typed_parameters_written_as_strings(
    setting: str, parameter: str, default: int
) -> None:
    # App settings are strings; the parameters are ints so that a typo fails at deployment.
    assert _settings()[setting] == {
        "function": {"type": "string", "parameters": {"value_to_convert": parameter}}
    }
    main = bicep.template("main.bicep")
    assert main["parameters"][parameter]["type"] == "int"
    assert main["parameters"][parameter]["default"] == default


def test_defaults_match_the_documented_local_defaults() -> None:
    main = bicep.template("main.bicep")["parameters"]
    assert main["supplierRetryBackoff"]["default"] == "2.0"
    # The contract's local defaults: 900 s payment window, 1000/2.0/60000/5 retry policy.
    text = (bicep.REPO / "docs" / "booking-api.md").read_text(encoding="utf-8")
    assert "`1000`, `2.0`, `60000`, `5`" in text and "| `900` |" in text


def test_public_base_url_defaults_to_the_app_itself() -> None:
    value = _settings()["PUBLIC_BASE_URL"]["operator"]
    assert value["type"] == "conditional"
    assert value["operands"]["true_value"] == "https://${functionApp.properties.defaultHostName}"
    assert value["operands"]["false_value"] == "publicBaseUrl"


def test_task_hub_name_is_a_valid_azure_storage_task_hub_name() -> None:
    param = bicep.template("main.bicep")["parameters"]["taskHubName"]
    # Azure Storage task hubs: 3-45 letters and digits, starting with a letter.
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", param["default"])
    assert bicep.decorator(param, "min_length") == 3
    assert bicep.decorator(param, "max_length") == 45


def test_python_thread_pool_stays_within_the_worker_limit() -> None:
    param = bicep.template("main.bicep")["parameters"]["pythonThreadpoolThreadCount"]
    assert bicep.decorator(param, "min_value") == 1
    assert bicep.decorator(param, "max_value") == 32  # the Python worker's documented maximum
