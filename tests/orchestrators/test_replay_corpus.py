"""The replay gate over the recorded corpus (tests/orchestrators/corpus): every booking path that matters,
recorded from real runs, still replays against the orchestrators as they are now. A change that would
make a running booking take another step fails here, naming the path and where it diverges."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devhost.app_index import index_app
from devhost.replay_gate import read_history_file, replay
from tests.orchestrators.world import make_app
from tests.support.app_copy import changed_app
from tests.support.devhost import devhost_command

REPO = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "corpus" / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
INDEX = index_app(make_app())


def test_the_corpus_covers_the_paths_that_matter() -> None:
    paths = {f.name.split("--")[0] for f in FILES}
    assert len(paths) >= 20, sorted(paths)
    assert all((HISTORIES / f"{path}--booking.json").is_file() for path in paths)


@pytest.mark.parametrize("history", FILES, ids=[f.stem for f in FILES])
def test_every_recorded_history_replays_on_the_code_as_it_is(history: Path) -> None:
    verdict = replay(INDEX, read_history_file(history))
    assert verdict.ok, f"{history.name}: {verdict.divergence}"


def run_gate(app_root: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    # devhost from this checkout; the app from `app_root` (the working directory comes first on the path).
    return devhost_command("replay", "--app-root", str(app_root), *map(str, files), cwd=app_root)


def test_trying_the_train_before_the_flight_is_caught_naming_the_path_and_the_step(tmp_path: Path) -> None:
    changed = changed_app(
        tmp_path, ("orchestrators/trip.py", "run.book(FLIGHT, order)", "run.book(TRAIN, order)")
    )
    result = run_gate(changed, HISTORIES)
    assert result.returncode == 1, result.stdout + result.stderr
    diverged = [line for line in result.stdout.splitlines() if line.startswith("DIVERGED")]
    happy = next(line for line in diverged if "/happy-path--trip-0.json" in line)
    assert "recorded activity 'book_flight'; the code now schedules activity 'book_train'" in happy
    # Paths whose trips never reached travel are untouched by the change.
    assert not any("cancel-between-steps--trip-0.json" in line for line in diverged)


def test_a_renamed_activity_is_caught(tmp_path: Path) -> None:
    changed = changed_app(
        tmp_path, ("booking/activity_io.py", 'BOOK_HOTEL = "book_hotel"', 'BOOK_HOTEL = "reserve"')
    )
    result = run_gate(changed, HISTORIES / "happy-path--trip-0.json")
    assert result.returncode == 1
    assert "recorded activity 'book_hotel'" in result.stdout


def test_bad_files_are_named_in_one_line_and_the_rest_still_checked(tmp_path: Path) -> None:
    good = HISTORIES / "happy-path--booking.json"
    (tmp_path / "not-json.json").write_text("{oops")
    (tmp_path / "other.json").write_text('{"some": "document"}')
    text = good.read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    unknown = text.replace('"name": "booking"', '"name": "no_such_orchestrator"', 1)
    (tmp_path / "unknown.json").write_text(unknown)
    result = run_gate(REPO, good, *sorted(tmp_path.glob("*.json")))
    lines = result.stdout.splitlines()
    assert result.returncode == 2, result.stdout
    assert any(line.startswith("ok") and "happy-path--booking.json" in line for line in lines)
    bad = {line.split()[1].rsplit("/", 1)[-1].rstrip(":"): line for line in lines if line.startswith("BAD")}
    assert set(bad) == {"not-json.json", "other.json", "truncated.json", "unknown.json"}
    assert "not JSON" in bad["not-json.json"] and "not an exported history" in bad["other.json"]
    assert "from another app" in bad["unknown.json"] and "no_such_orchestrator" in bad["unknown.json"]
    assert "Traceback" not in result.stdout + result.stderr


def test_the_same_change_behind_a_version_check_replays_cleanly(tmp_path: Path) -> None:
    # New bookings (started once the deployment sets defaultVersion 4.0) try the train first; the recorded
    # ones carry an older version (none, 2.0 or 3.0) and keep the flight: nothing running changes its path.
    guarded = "run.book(TRAIN if run.context.version == '4.0' else FLIGHT, order)"
    changed = changed_app(tmp_path, ("orchestrators/trip.py", "run.book(FLIGHT, order)", guarded))
    result = run_gate(changed, HISTORIES)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].endswith("0 diverged, 0 bad")


def test_a_change_to_the_breakers_decisions_is_caught_on_the_2_0_paths_only(tmp_path: Path) -> None:
    # Trips of 2.0 skip an open airline for the train; making the flight wait instead changes the recorded
    # 2.0 path where the airline's circuit opened, and no path recorded before 2.0.
    wait_instead = ("orchestrators/trip.py", "has_fallback=fallback is not None", "has_fallback=False")
    changed = changed_app(tmp_path, wait_instead)
    result = run_gate(changed, HISTORIES)
    assert result.returncode == 1, result.stdout
    diverged = [line for line in result.stdout.splitlines() if line.startswith("DIVERGED")]
    assert diverged and all("breaker-" in line for line in diverged), diverged
    assert any("breaker-airline-opens-train--trip-0.json" in line for line in diverged)
