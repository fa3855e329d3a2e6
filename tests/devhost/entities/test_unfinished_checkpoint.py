"""A worker that dies between writing an entity's checkpoint and applying it (Azure Storage store): every
entity batch moves the instance to a new execution, so the next episode must first finish that checkpoint —
otherwise the batch's state and its answers to callers would be lost."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devhost.history import RuntimeStatus
from devhost.store.azure import create_store
from devhost.store.azure.journal import Journal
from devhost.testing import AsyncDurableHarness
from tests.devhost.entities import entity_app
from tests.support.azurite import Azurite

pytestmark = pytest.mark.azurite


async def test_next_episode_finishes_an_unapplied_entity_checkpoint(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = Journal.apply
    failures = {"left": 0}

    async def flaky_apply(
        self: Journal, state: Any, journal: dict[str, Any], sends: Any = None, sent: Any = None
    ) -> None:
        record = journal.get("instance") or {}
        if failures["left"] and str(record.get("instance_id", "")).startswith("@"):
            failures["left"] -= 1
            raise ConnectionError("worker died after step 1")
        await real_apply(self, state, journal, sends, sent)

    monkeypatch.setattr(Journal, "apply", flaky_apply)
    store = create_store(
        azurite.connection_string, hub_name="Unf" + uuid.uuid4().hex[:12], max_polling_interval=0.5
    )
    await store.open()
    h = AsyncDurableHarness(entity_app.app, store=store)
    try:
        # First batch: creates the entity's row. Second batch (after a clean one): continue-as-new.
        for _ in range(2):
            await h.client.signal_entity("Counter", "u", "add", json.dumps(json.dumps(1)))
            failures["left"] = 1
            caller = await h.start_new("add_and_get", "u")
            status = await h.wait_for_completion(caller)
            assert status.runtime_status is RuntimeStatus.Completed, status.output
            assert failures["left"] == 0, "the checkpoint was never interrupted"
        exists, state = await h.client.read_entity_state("Counter", "u")
        # Each round: +1 (client), +3 (signal), +4 (call): 8 per round, nothing lost, nothing twice.
        assert (exists, state) == (True, "16")
    finally:
        h.close()
        await store.close()
