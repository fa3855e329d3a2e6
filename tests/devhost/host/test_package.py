"""devhost as an installed package: `make install` puts it in the venv editable (devhost/pyproject.toml), and
its `devhost` command runs Microsoft's samples-v2 function_chaining app from the app's own folder."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import httpx

from devhost.history import RuntimeStatus
from devhost.http.testing import durable_host
from devhost.loader import load_app
from tests.devhost.host.apps import write_app
from tests.devhost.host.test_cli import poll_until_done
from tests.support.devhost import REPO_ROOT, DevhostProcess

PACKAGE_ROOT = REPO_ROOT / "devhost"
PYPROJECT = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SAMPLE = REPO_ROOT / "tests" / "devhost" / "samples" / "function_chaining"
# The venv the Makefile built (the one running these tests) holds the console script beside python.
DEVHOST_SCRIPT = Path(sys.executable).parent / "devhost"


def _package_files(pattern: str) -> list[Path]:
    """devhost's own files: not the copies a wheel build leaves in build/, nor the egg-info."""
    return [p for p in PACKAGE_ROOT.rglob(pattern)
            if not {"build", "devhost.egg-info"} & set(p.relative_to(PACKAGE_ROOT).parts)]


def _without_repo_on_path() -> dict[str, str]:
    """The environment of a user outside this repository: devhost can only come from the installed package."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


class InstalledDevhost(DevhostProcess):
    """The venv's `devhost` script started in the app's folder with no --app-root, as a user of the package
    runs it. `env` execs the script, so the pid (and the SIGTERM of stop()) stays devhost's; `-C` makes the
    app folder the working directory and `-u PYTHONPATH` drops the repository root that the fixture adds,
    so devhost is imported through the installed package, not from the repository on sys.path."""

    def command(self) -> list[str]:
        return ["env", "-u", "PYTHONPATH", "-C", str(self.app_root), str(DEVHOST_SCRIPT), "start",
                "--port", str(self.port), "--storage", self.storage]


def test_devhost_command_runs_the_function_chaining_sample_from_its_folder(tmp_path: Path) -> None:
    assert DEVHOST_SCRIPT.is_file(), f"{DEVHOST_SCRIPT} is missing: run `make install`"
    app = tmp_path / "function_chaining"  # outside the repository, so nothing of it can leak in
    shutil.copytree(SAMPLE, app)
    host = InstalledDevhost(app, storage="memory")
    try:
        host.start()
        banner = host.output()
        assert f"http_start: [GET,POST,DELETE,HEAD,PATCH,PUT,OPTIONS] {host.base_url}/api/orchestrators/" \
               "{functionName}" in banner
        assert "my_orchestrator: orchestrationTrigger" in banner and "say_hello: activityTrigger" in banner
        with httpx.Client(timeout=10) as client:
            r = client.post(f"{host.base_url}/api/orchestrators/my_orchestrator")
            assert r.status_code == 202, r.text
            status = poll_until_done(client, r.json()["statusQueryGetUri"])
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        assert host.stop() == 0  # SIGTERM is a clean stop
        assert "Traceback" not in host.output()
    finally:
        host.close()


def test_the_published_host_json_is_refused_in_one_line(tmp_path: Path) -> None:
    # Upstream's host.json holds two objects back to back (SOURCE.md); the sample keeps the first one.
    published = (SAMPLE / "host.json.published").read_text(encoding="utf-8")
    _, end = json.JSONDecoder().raw_decode(published)
    assert (SAMPLE / "host.json").read_text(encoding="utf-8") == published[:end] != published
    app = tmp_path / "function_chaining"
    shutil.copytree(SAMPLE, app)
    (app / "host.json").write_text(published, encoding="utf-8")
    run = subprocess.run([str(DEVHOST_SCRIPT), "start", "--port", "0", "--storage", "memory"], cwd=app,
                         env=_without_repo_on_path(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr == "devhost: host.json is not valid JSON: Extra data: line 15 column 2 (char 288)\n"


def test_the_installed_package_is_this_folder_with_its_console_script(tmp_path: Path) -> None:
    dist = importlib.metadata.distribution("devhost")
    assert dist.version == PYPROJECT["project"]["version"]
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"devhost": "devhost.cli:main"}
    where = subprocess.run([sys.executable, "-c", "import devhost; print(devhost.__file__)"], cwd=tmp_path,
                           env=_without_repo_on_path(), capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()) == PACKAGE_ROOT / "__init__.py"
    usage = subprocess.run([str(DEVHOST_SCRIPT), "--help"], cwd=tmp_path, env=_without_repo_on_path(),
                           capture_output=True, text=True, check=True)
    assert usage.stdout.startswith("usage: devhost ")


def test_pyproject_lists_every_subpackage() -> None:
    # A subpackage missing from the list would be absent from a regular (non-editable) install.
    found = {".".join(("devhost", *p.parent.relative_to(PACKAGE_ROOT).parts))
             for p in _package_files("__init__.py")}
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_of(module: str, owners: dict[Path, str]) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"devhost imports {module}, which is not installed"
    return owners[Path(spec.origin).resolve()]


def test_dependencies_are_exactly_the_distributions_devhost_imports() -> None:
    owners = {
        Path(str(dist.locate_file(f))).resolve(): _normalise(dist.metadata["Name"])
        for dist in importlib.metadata.distributions() for f in dist.files or ()
        if f.suffix == ".py"
    }
    imported: set[str] = set()
    for source in _package_files("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top != "devhost" and top not in sys.stdlib_module_names:
                    imported.add(_distribution_of(name, owners))
    declared = {_normalise(re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0])
                for req in PYPROJECT["project"]["dependencies"]}
    assert declared == imported


# What devhost/README.md lists as unsupported must fail in the way it says: the orchestration Failed with one
# clear message, the management API 501, never a hang or a 500.
UNSUPPORTED_APP = textwrap.dedent(
    """
    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.orchestration_trigger(context_name="context")
    def calls_http(context: df.DurableOrchestrationContext):
        return (yield context.call_http("GET", "http://127.0.0.1:9/"))


    @app.activity_trigger(input_name="value")
    def noop(value: object) -> object:
        return value
    """
)


async def test_what_the_readme_calls_unsupported_fails_with_one_clear_message(tmp_path: Path) -> None:
    module, _ = load_app(write_app(tmp_path / "unsupported", UNSUPPORTED_APP), {})
    webhook = "/runtime/webhooks/durabletask"
    expected = {
        "calls_http": "Durable HTTP (call_http) is not supported by devhost.",
    }
    async with durable_host(module) as host, httpx.AsyncClient(base_url=host.base_url, timeout=10) as http:
        for name, message in expected.items():
            started = await http.post(f"{webhook}/orchestrators/{name}")
            assert started.status_code == 202, started.text
            record = await host.wait_for(started.json()["id"])
            assert record.runtime_status == RuntimeStatus.Failed
            assert message in str(record.output), record.output
        rewind = await http.post(f"{webhook}/instances/{started.json()['id']}/rewind")
        assert rewind.status_code == 501
        assert "Rewind is not supported" in rewind.text
