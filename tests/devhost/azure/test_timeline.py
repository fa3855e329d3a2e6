"""The benchmark timeline (devhost/store/timeline.py): off unless DEVHOST_TIMELINE_FILE is set; when on,
every storage request is one line naming the instance it worked for, with message ids taken out."""

import json
from pathlib import Path

import pytest

from devhost.store import timeline
from devhost.store.azure import AzureStorageStore
from tests.devhost.azure.test_store import first_episode, lock, start


def test_the_timeline_is_off_unless_its_setting_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timeline.TIMELINE_FILE_SETTING, raising=False)
    monkeypatch.setattr(timeline, "_checked", False)
    monkeypatch.setattr(timeline, "_timeline", None)
    assert timeline.get() is None
    with timeline.span("episode"):
        pass  # nothing to write to, and nothing fails


def test_request_paths_lose_message_ids_and_entity_keys() -> None:
    assert timeline.request_path("/acct/hub-control-01/messages/8f2c-11") == "/acct/hub-control-01/messages/*"
    assert timeline.request_path("/acct/HubInstances(PartitionKey='a',RowKey='')") == "/acct/HubInstances()"


async def test_storage_requests_are_written_with_their_instance(
    azure_store: AzureStorageStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    monkeypatch.setenv(timeline.TIMELINE_FILE_SETTING, str(path))
    monkeypatch.setattr(timeline, "_checked", False)
    monkeypatch.setattr(timeline, "_timeline", None)
    rec, ex = await start(azure_store, "timed-1")
    item = await lock(azure_store)
    token = timeline.current_instance.set("timed-1")
    try:
        with timeline.span("commit"):
            await azure_store.commit_episode(item, first_episode(item, rec, ex))
        await azure_store.flush()
    finally:
        timeline.current_instance.reset(token)
        written = timeline.get()
        assert written is not None
        written.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(r[0] <= r[1] for r in rows)
    kinds = {(r[2], r[3].split(" ")[0]) for r in rows if r[4] == "timed-1"}
    # The commit span, its history batch, and the tail it spawned (work item put, row write, delete).
    expected = {("commit", ""), ("table", "POST"), ("queue", "POST"), ("table", "PUT"), ("queue", "DELETE")}
    assert expected <= kinds
    batch = next(r for r in rows if r[3].endswith("/$batch"))
    assert batch[4] == "timed-1"
    deletes = [r[3] for r in rows if r[2] == "queue" and r[3].startswith("DELETE")]
    assert deletes and all(d.endswith("/messages/*") for d in deletes)
