"""azure.yaml: one Python function service at the repository root, provisioned from infra/."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from tests.infra import bicep


def _azure_yaml() -> dict[str, Any]:
    document = YAML(typ="safe").load((bicep.REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict), "azure.yaml is not a mapping"
    return document


def test_the_api_service_is_a_python_function_app_at_the_repository_root() -> None:
    document = _azure_yaml()
    assert document["name"]
    assert document["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert (bicep.REPO / "function_app.py").exists() or (bicep.REPO / "host.json").exists()


def test_infra_points_at_main_bicep() -> None:
    infra = _azure_yaml()["infra"]
    assert infra == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (bicep.REPO / infra["path"] / f"{infra['module']}.bicep").is_file()
    assert (bicep.REPO / infra["path"] / f"{infra['module']}.parameters.json").is_file()


def test_the_service_name_is_the_tag_azd_deploys_to() -> None:
    (service,) = _azure_yaml()["services"]
    params = bicep.template("main.bicep")["modules"]["functionApp"]["config"]["params"]
    assert params["serviceName"] == service


def test_funcignore_keeps_infra_and_local_tooling_out_of_the_package() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (bicep.REPO / ".funcignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"infra", "azure.yaml", "tests", "devhost", "sandbox", "local.settings.json"} <= ignored
