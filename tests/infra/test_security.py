"""The security properties of the templates: no shared keys, the four data-plane roles (plus Key
Vault Secrets User) granted to the app's identity with the right built-in GUIDs, Entra-only App
Insights, and no secret in any output or plain parameter. Each check is also run against a
deliberately broken copy of the template, to prove it can fail."""

from __future__ import annotations

import json
import re

import pytest

from tests.infra import bicep


def _broken(relative: str, old: str, new: str) -> bicep.Template:
    text = bicep.read(relative)
    assert old in text, f"{old!r} not in {relative}: update the test with the template"
    return bicep.parse_text(text.replace(old, new, 1))


# ------------------------------------------------------------------------------ storage


def test_storage_allows_no_shared_key_access() -> None:
    for path in bicep.bicep_files():
        assert bicep.shared_key_problems(bicep.parse(path)) == [], path.name
    _, account = bicep.only_resource(bicep.template("app/storage.bicep"), "Microsoft.Storage/storageAccounts")
    props = account["config"]["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"


def test_shared_key_check_catches_keys() -> None:
    enabled = _broken("app/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")
    assert bicep.shared_key_problems(enabled) == [
        "storage account storage: allowSharedKeyAccess is not false"
    ]
    omitted = _broken("app/storage.bicep", "allowSharedKeyAccess: false", "")
    assert bicep.shared_key_problems(omitted)
    listed = bicep.parse_text(
        bicep.read("app/storage.bicep") + "\nvar leaked = storage.listKeys().keys[0].value\n"
    )
    assert any("listKeys" in p for p in bicep.shared_key_problems(listed))


def test_storage_enables_blob_queue_and_table_services_for_durable_functions() -> None:
    tpl = bicep.template("app/storage.bicep")
    assert bicep.durable_storage_problems(tpl) == []
    name, container = bicep.only_resource(tpl, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["config"]["parent"] == "blobService"
    assert container["config"]["name"] == "deploymentContainerName"
    assert container["config"]["properties"]["publicAccess"] == "None"


@pytest.mark.parametrize("service", ["queueService", "tableService"])
def test_durable_storage_check_catches_a_missing_service(service: str) -> None:
    text = bicep.read("app/storage.bicep")
    start = text.index(f"resource {service} ")
    end = text.index("\n}\n", start) + 3
    broken = bicep.parse_text(text[:start] + text[end:])
    kind = {"queueService": "queueServices", "tableService": "tableServices"}[service]
    assert bicep.durable_storage_problems(broken) == [f"storage account storage: no {kind} resource"]


# ------------------------------------------------------------------------------ roles


EXPECTED_ROLES = {
    # template: {assignment: (role GUID, scope)}
    "app/storage.bicep": {
        "blobDataOwner": (bicep.STORAGE_BLOB_DATA_OWNER, "storage"),
        "queueDataContributor": (bicep.STORAGE_QUEUE_DATA_CONTRIBUTOR, "storage"),
        "tableDataContributor": (bicep.STORAGE_TABLE_DATA_CONTRIBUTOR, "storage"),
    },
    "app/monitoring.bicep": {
        "metricsPublisher": (bicep.MONITORING_METRICS_PUBLISHER, "applicationInsights"),
    },
    "app/keyvault.bicep": {
        "secretsUser": (bicep.KEY_VAULT_SECRETS_USER, "webhookSecret"),
    },
}


@pytest.mark.parametrize("relative", sorted(EXPECTED_ROLES))
def test_role_assignments_use_the_built_in_role_ids(relative: str) -> None:
    found = bicep.role_assignments(bicep.template(relative))
    assert {name: (a["role"], a["scope"]) for name, a in found.items()} == EXPECTED_ROLES[relative]
    for assignment in found.values():
        # The identity's principal, typed, so ARM does not wait for directory replication to guess.
        assert assignment["principalId"] == "principalId"
        assert assignment["principalType"] == "ServicePrincipal"


def test_the_four_required_roles_are_all_granted() -> None:
    granted = {
        a["role"] for path in bicep.bicep_files() for a in bicep.role_assignments(bicep.parse(path)).values()
    }
    assert {
        bicep.STORAGE_BLOB_DATA_OWNER,
        bicep.STORAGE_QUEUE_DATA_CONTRIBUTOR,
        bicep.STORAGE_TABLE_DATA_CONTRIBUTOR,
        bicep.MONITORING_METRICS_PUBLISHER,
    } <= granted


def test_role_guids_are_pinned_exactly() -> None:
    # A typo in one GUID would assign a different (or no) role; these are the published ids.
    assert bicep.STORAGE_BLOB_DATA_OWNER == "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    assert bicep.STORAGE_QUEUE_DATA_CONTRIBUTOR == "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
    assert bicep.STORAGE_TABLE_DATA_CONTRIBUTOR == "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
    assert bicep.MONITORING_METRICS_PUBLISHER == "3913510d-42f4-4e42-8a64-420c390055eb"
    assert bicep.KEY_VAULT_SECRETS_USER == "4633458b-17de-408a-b874-0445c86b69e6"


def test_role_check_catches_a_wrong_guid() -> None:
    # Storage Blob Data Contributor cannot manage the host's blob leases the way Owner can.
    wrong = _broken(
        "app/storage.bicep",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    )
    assert bicep.role_assignments(wrong)["blobDataOwner"]["role"] != bicep.STORAGE_BLOB_DATA_OWNER


def test_every_role_goes_to_the_user_assigned_identity() -> None:
    main = bicep.template("main.bicep")
    for module in ("storage", "monitoring", "keyVault"):
        principal = main["modules"][module]["config"]["params"]["principalId"]
        assert principal["operator"]["operands"]["operand_1"] == "identity"
        assert json.dumps(principal).count('"principalId"') == 1


# ------------------------------------------------------------------------------ monitoring


def test_application_insights_accepts_only_entra_authenticated_telemetry() -> None:
    tpl = bicep.template("app/monitoring.bicep")
    _, insights = bicep.only_resource(tpl, "Microsoft.Insights/components")
    props = insights["config"]["properties"]
    assert bicep.get_ci(props, "disableLocalAuth") is True
    assert bicep.get_ci(props, "WorkspaceResourceId") == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "logAnalytics", "operand_2": "id"},
        }
    }
    _, workspace = bicep.only_resource(tpl, "Microsoft.OperationalInsights/workspaces")
    assert workspace["config"]["properties"]["features"]["disableLocalAuth"] is True


def test_the_app_authenticates_its_telemetry_with_the_identity() -> None:
    settings = bicep.app_settings(bicep.template("app/function.bicep"))
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identityClientId};Authorization=AAD"
    )
    assert "APPINSIGHTS_INSTRUMENTATIONKEY" not in settings
    connection = settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert connection["operator"]["operands"]["operand_1"] == "applicationInsights"


# ------------------------------------------------------------------------------ Key Vault


def test_key_vault_uses_rbac_and_holds_the_webhook_secret() -> None:
    tpl = bicep.template("app/keyvault.bicep")
    _, vault = bicep.only_resource(tpl, "Microsoft.KeyVault/vaults")
    assert vault["config"]["properties"]["enableRbacAuthorization"] is True
    assert "accessPolicies" not in vault["config"]["properties"]
    name, secret = bicep.only_resource(tpl, "Microsoft.KeyVault/vaults/secrets")
    assert secret["config"]["parent"] == "vault"
    assert secret["config"]["properties"]["value"] == "paymentWebhookSecret"
    assert "paymentWebhookSecret" in bicep.secure_parameters(tpl)
    # Versionless: a rotated secret is picked up without redeploying the app settings.
    assert tpl["outputs"]["webhookSecretUri"]["value"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {
                "operand_1": name,
                "operand_2": {
                    "operator": {
                        "type": "property_accessor",
                        "operands": {"operand_1": "properties", "operand_2": "secretUri"},
                    }
                },
            },
        }
    }


def test_webhook_secret_setting_is_a_key_vault_reference_resolved_with_the_identity() -> None:
    fn = bicep.template("app/function.bicep")
    settings = bicep.app_settings(fn)
    assert settings["PAYMENT_WEBHOOK_SECRET"] == "@Microsoft.KeyVault(SecretUri=${paymentWebhookSecretUri})"
    _, site = bicep.only_resource(fn, "Microsoft.Web/sites")
    assert site["config"]["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert site["config"]["identity"]["type"] == "UserAssigned"
    assert list(site["config"]["identity"]["userAssignedIdentities"]) == ["'${identityId}'"]
    # And main wires the vault's secret URI (not the secret) and the identity into the module.
    params = bicep.template("main.bicep")["modules"]["functionApp"]["config"]["params"]
    assert json.dumps(params["paymentWebhookSecretUri"]).count('"webhookSecretUri"') == 1
    assert params["paymentWebhookSecretUri"]["operator"]["operands"]["operand_1"] == "keyVault"
    assert params["identityId"]["operator"]["operands"]["operand_1"] == "identity"


# ------------------------------------------------------------------------------ secrets


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_no_secret_in_outputs_or_plain_parameters(path) -> None:
    assert bicep.secret_problems(bicep.parse(path)) == []


def test_the_webhook_secret_flows_only_into_key_vault() -> None:
    main = bicep.template("main.bicep")
    assert bicep.secure_parameters(main) == {"paymentWebhookSecret"}
    receivers = [
        (module, param)
        for module, spec in main["modules"].items()
        for param, value in spec["config"]["params"].items()
        if "paymentWebhookSecret" in bicep.identifiers(value)
    ]
    assert receivers == [("keyVault", "paymentWebhookSecret")]
    kv = bicep.template("app/keyvault.bicep")
    assert "paymentWebhookSecret" in bicep.secure_parameters(kv)
    uses = [
        name
        for name, res in kv["resources"].items()
        if "paymentWebhookSecret" in bicep.identifiers(res["config"])
    ]
    assert uses == ["webhookSecret"]
    function = bicep.template("app/function.bicep")
    assert "paymentWebhookSecret" not in bicep.identifiers(function)
    assert "paymentWebhookSecret" not in function["parameters"]


@pytest.mark.parametrize(
    ("relative", "old", "new", "expected"),
    [
        ("main.bicep", "@secure()\n", "", "parameter paymentWebhookSecret looks secret but is not @secure()"),
        (
            "main.bicep",
            "output TASKHUB_NAME string = taskHubName",
            "output TASKHUB_NAME string = paymentWebhookSecret",
            "output TASKHUB_NAME exposes @secure() parameter(s) ['paymentWebhookSecret']",
        ),
        (
            "main.bicep",
            "output TASKHUB_NAME string = taskHubName",
            "output TASKHUB_NAME string = 'x-${paymentWebhookSecret}'",
            "output TASKHUB_NAME exposes @secure() parameter(s) ['paymentWebhookSecret']",
        ),
        (
            "app/keyvault.bicep",
            "output name string = vault.name",
            "output name string = webhookSecret.properties.value",
            "output name reads a Key Vault secret's value",
        ),
        (
            "app/function.bicep",
            "output name string = functionApp.name",
            "output name string = applicationInsights.properties.ConnectionString",
            "output name reads secret-bearing member(s) ['ConnectionString']",
        ),
        (
            "app/keyvault.bicep",
            "param paymentWebhookSecret string",
            "param paymentWebhookSecret string = 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0'",
            "@secure() parameter paymentWebhookSecret has a default value in the template",
        ),
    ],
)
def test_secret_check_catches_leaks(relative: str, old: str, new: str, expected: str) -> None:
    assert expected in bicep.secret_problems(_broken(relative, old, new))


def test_no_secret_values_are_committed_in_infra() -> None:
    for path in bicep.INFRA.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"whsec_[A-Za-z0-9+/=]{8,}", text), path
            assert "AccountKey=" not in text, path
            assert "InstrumentationKey=" not in text, path
