"""`devhost history export` reads a task hub in Azure Storage (Azurite here) and writes each instance's
history as the replay gate reads it; `devhost replay` then checks it against the app that made it."""

from __future__ import annotations

from pathlib import Path

from devhost.replay_gate import read_history_file
from devhost.store.azure import AzureStorageStore
from tests.devhost.azure.test_engine_on_azure import run_journeys
from tests.support.azurite import Azurite
from tests.support.devhost import devhost_command

REPO = Path(__file__).resolve().parents[3]
APP = Path(__file__).parent / "crash_app"


async def test_exported_histories_replay_against_their_app(
    azure_store: AzureStorageStore, azurite: Azurite, hub_name: str, tmp_path: Path
) -> None:
    await run_journeys(azure_store, {"trip/1": "Oslo", "trip/2": "Lima"})

    exported = devhost_command(
        "history",
        "export",
        "--storage",
        azurite.connection_string,
        "--hub",
        hub_name,
        "--name",
        "journey",
        "--out",
        str(tmp_path),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    files = sorted(tmp_path.glob("*.json"))
    assert [f.name for f in files] == ["trip_1.json", "trip_2.json"]
    history = read_history_file(files[0])
    assert (history.instance_id, history.name) == ("trip/1", "journey")
    assert history.history == await azure_store.get_history("trip/1")
    assert azurite.connection_string not in exported.stdout + exported.stderr

    replayed = devhost_command("replay", "--app-root", str(APP), *map(str, files))
    assert replayed.returncode == 0, replayed.stdout
    assert replayed.stdout.splitlines()[-1] == "2 histories: 2 ok, 0 diverged, 0 bad"


def test_export_needs_an_instance_or_a_name(tmp_path: Path) -> None:
    result = devhost_command(
        "history", "export", "--storage", "UseDevelopmentStorage=true", "--out", str(tmp_path)
    )
    assert result.returncode == 2 and "needs --instance ID or --name NAME" in result.stdout
