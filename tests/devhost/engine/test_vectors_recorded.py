"""The committed SDK vectors are what the installed SDK does today: record them afresh (in a process of
their own, as `python -m tests.devhost.engine.vectors.recorder` does) and compare file by file. After an
SDK upgrade this fails with the exact changes; re-record, read the diff, and adapt devhost to it."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from tests.devhost.engine.vector_support import VECTORS

REPO = VECTORS.parents[3]


def _record(out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tests.devhost.engine.vectors.recorder", "--out", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _differences(committed: Path, recorded: Path) -> list[str]:
    names = sorted(
        {p.name for p in committed.glob("[0-9][0-9]_*.json")} | {p.name for p in recorded.glob("*.json")}
    )
    problems: list[str] = []
    for name in names:
        old, new = committed / name, recorded / name
        if not old.is_file() or not new.is_file():
            problems.append(f"{name}: {'not committed' if not old.is_file() else 'no longer recorded'}")
            continue
        diff = difflib.unified_diff(
            old.read_text().splitlines(),
            new.read_text().splitlines(),
            f"committed/{name}",
            f"recorded/{name}",
            lineterm="",
        )
        problems.extend(list(diff)[:60])
    return problems


def test_recording_afresh_reproduces_every_committed_vector(tmp_path: Path) -> None:
    _record(tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 12
    assert _differences(VECTORS, tmp_path) == []


def test_the_comparison_shows_a_changed_vector(tmp_path: Path) -> None:
    # The check above can fail: a vector that differs from the recording is reported with its diff.
    recorded = tmp_path / "recorded"
    _record(recorded)
    changed = recorded / "06_custom_status.json"
    changed.write_text(changed.read_text().replace('"isDone": true', '"isDone": false', 1))
    problems = _differences(VECTORS, recorded)
    assert any(line.startswith("+") and '"isDone": false' in line for line in problems)
