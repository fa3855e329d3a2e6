"""The booking app's code copied to another folder with one edit: what a deploy of a changed orchestrator
looks like, for the replay gate and the versioned-deploy tests."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP_PARTS = ("function_app.py", "host.json", "activities", "booking", "clients", "orchestrators", "suppliers")


def changed_app(target: Path, change: tuple[str, str, str]) -> Path:
    """The app's code in `target`, with one edit: (file, text, replacement). A text that is no longer
    in the file fails at once, so a test cannot silently stop changing anything."""
    target.mkdir(parents=True, exist_ok=True)
    for part in APP_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / part)
    relative, text, replacement = change
    file = target / relative
    code = file.read_text()
    assert text in code, f"{text!r} is not in {relative}: update the test with the code"
    file.write_text(code.replace(text, replacement, 1))
    return target
