"""The GitHub workflows: zizmor (offline) finds nothing, they validate against the GitHub
workflow schema, every action is pinned to the commit of a real release tag, permissions are
least privilege, and deployment uses OIDC and Flex Consumption's remote build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.infra.bicep import REPO

WORKFLOWS = REPO / ".github" / "workflows"
BIN = Path(sys.executable).parent
ZIZMOR = BIN / "zizmor"
CHECK_JSONSCHEMA = BIN / "check-jsonschema"

# Commit of each release tag, read with `git rev-parse <tag>^{commit}` from the actions' own
# repositories on 2026-11-20. A moved tag cannot change what runs; updating a pin is a reviewed
# change to this table and to the workflow together.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/setup-node": ("820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
    "azure/login": ("f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
    "Azure/functions-action": ("c5060b3b8bb1ebbcb531abd00c822ecbaa8ea656", "v1.5.7"),
}

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.M)


def _workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a mapping"
    return document


def _run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # No token and no network: zizmor's online audits stay off, as they would in an air gap.
    env = {
        k: v for k, v in os.environ.items() if k not in {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}
    }
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    assert [p.name for p in _workflow_files()] == ["ci.yml", "deploy.yml"]


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_offline_finds_nothing(persona: str) -> None:
    result = _run(ZIZMOR, "--offline", "--persona", persona, ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_harness_reports_a_bad_workflow(tmp_path: Path) -> None:
    # Proves the test above runs a zizmor that audits: the same command fails on a known-bad file.
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request_target\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@v7\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n",
        encoding="utf-8",
    )
    result = _run(ZIZMOR, "--offline", ".github/workflows", cwd=tmp_path)
    assert result.returncode != 0
    for audit in ("unpinned-uses", "template-injection", "dangerous-triggers", "artipacked"):
        assert audit in result.stdout, f"{audit} missing from:\n{result.stdout}"


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    result = _run(CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_harness_rejects_an_invalid_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: true\n", encoding="utf-8")  # no runs-on
    result = _run(CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", bad)
    assert result.returncode != 0


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_known_release_commit(path: Path) -> None:
    for ref, comment in _USES.findall(path.read_text(encoding="utf-8")):
        if ref.startswith("$/"):
            continue  # this repository's own reusable workflow, resolved from the same commit
        action, _, sha = ref.partition("@")
        assert action in PINNED, f"{path.name}: {action} is not in the reviewed pin table"
        expected_sha, tag = PINNED[action]
        assert sha == expected_sha, f"{path.name}: {action}@{sha}, expected {expected_sha} ({tag})"
        assert comment.strip() == f"# {tag}", f"{path.name}: {action} should carry '# {tag}'"
        assert re.fullmatch(r"v\d+\.\d+\.\d+", tag)


def test_permissions_are_least_privilege() -> None:
    for path in _workflow_files():
        workflow = _load(path)
        assert workflow["permissions"] == {}, f"{path.name}: default permissions must be empty"
        for job, spec in workflow["jobs"].items():
            granted = spec.get("permissions")
            assert isinstance(granted, dict), f"{path.name}:{job} must say what it needs"
            writes = {scope for scope, level in granted.items() if level == "write"}
            if path.name == "deploy.yml" and job == "deploy":
                assert writes == {"id-token"}
            else:
                assert writes == set(), f"{path.name}:{job} writes {writes}"
            assert set(granted) <= {"contents", "id-token"}


def test_checkout_never_persists_credentials() -> None:
    checkouts = 0
    for path in _workflow_files():
        for job, step in _steps(_load(path)):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                checkouts += 1
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}:{job}"
    assert checkouts == 2


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    for path in _workflow_files():
        for job, step in _steps(_load(path)):
            assert "${{" not in str(step.get("run", "")), f"{path.name}:{job}: template injection risk"


def test_ci_lints_and_runs_make_test_and_is_reusable() -> None:
    workflow = _load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(workflow["on"])
    runs = [step.get("run") for _, step in _steps(workflow)]
    assert "make lint" in runs
    assert ".ci/run" in runs  # .ci/run is `make test` with CI=true
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    python = [s for _, s in _steps(workflow) if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert python[0]["with"]["python-version"] == "3.11"


def test_deploy_tests_first_then_logs_in_with_oidc_and_remote_builds_on_flex() -> None:
    workflow = _load(WORKFLOWS / "deploy.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["jobs"]["test"]["uses"] == "$/.github/workflows/ci.yml"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert deploy["environment"] == "production"
    steps = {str(s.get("uses", "")).split("@")[0]: s for s in deploy["steps"]}
    login = steps["azure/login"]["with"]
    assert login == {
        "client-id": "${{ vars.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
        "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
    }
    assert "creds" not in login, "OIDC only: no stored service principal secret"
    publish = steps["Azure/functions-action"]["with"]
    assert publish["sku"] == "flexconsumption"
    assert publish["remote-build"] is True
    assert publish["app-name"] == "${{ vars.AZURE_FUNCTION_APP_NAME }}"
    assert "publish-profile" not in publish
    assert "scm-do-build-during-deployment" not in publish  # Flex: remote-build only
    order = [str(s.get("uses", "")).split("@")[0] for s in deploy["steps"]]
    assert order == ["actions/checkout", "azure/login", "Azure/functions-action"]
