"""Orchestrator code must decide the same way on every replay: a static look at orchestrators/ for what
would make it decide otherwise — clocks, randomness, ids, the environment, I/O, threads, event loops,
`async def` orchestrators. Each finding names the file, the line and what to use instead."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ORCHESTRATORS = Path(__file__).resolve().parents[2] / "orchestrators"

# Modules whose use in orchestrator code makes a replay differ, and what to use instead.
FORBIDDEN_MODULES = {
    "time": "context.current_utc_datetime / context.create_timer",
    "random": "an activity, or a value derived from the instance id",
    "secrets": "an activity",
    "uuid": "context.new_uuid()",
    "os": "the settings snapshot in the orchestration's input",
    "socket": "an activity",
    "threading": "the SDK's tasks (task_all / task_any)",
    "asyncio": "the SDK's tasks (task_all / task_any)",
    "subprocess": "an activity",
    "httpx": "an activity",
    "requests": "an activity",
    "urllib": "an activity",
    "activities": "context.call_activity (an activity's code runs outside the orchestration)",
    "suppliers": "an activity",
    "clients": "the edge raises events into the orchestration",
    "booking.settings": "the settings snapshot in the orchestration's input",
}
FORBIDDEN_CALLS = {
    "now": "context.current_utc_datetime",
    "utcnow": "context.current_utc_datetime",
    "today": "context.current_utc_datetime",
    "get_settings": "the settings snapshot in the orchestration's input",
    "open": "an activity",
    "getenv": "the settings snapshot in the orchestration's input",
}


def findings(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = f"{path.parent.name}/{path.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                for module, instead in FORBIDDEN_MODULES.items():
                    if name == module or name.startswith(module + "."):
                        yield f"{where}:{node.lineno}: imports {name}: use {instead}"
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in FORBIDDEN_CALLS:
                yield f"{where}:{node.lineno}: calls {called}(): use {FORBIDDEN_CALLS[called]}"
        elif isinstance(node, ast.AsyncFunctionDef):
            yield f"{where}:{node.lineno}: async def {node.name}: orchestrators are generators the SDK drives"


@pytest.mark.parametrize("path", sorted(ORCHESTRATORS.glob("*.py")), ids=lambda p: p.name)
def test_orchestrator_code_is_deterministic(path: Path) -> None:
    found = list(findings(path))
    assert not found, "non-deterministic orchestrator code:\n" + "\n".join(found)


def test_the_check_finds_each_kind(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import uuid\nfrom datetime import datetime\nimport httpx\n"
        "async def orchestrator(context):\n    return datetime.now()\n"
    )
    found = sorted(line.split(": ", 2)[1] for line in findings(sample))
    assert found == ["async def orchestrator", "calls now()", "imports httpx", "imports uuid"]
