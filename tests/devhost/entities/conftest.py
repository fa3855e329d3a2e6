"""The entity tests run on the in-memory task hub and on the Azure Storage one (Azurite), through the engine
harness and through devhost's HTTP management API with the SDK's own client."""

import uuid
from collections.abc import AsyncIterator

import pytest

from devhost.http.testing import DurableTestHost, durable_host
from devhost.store.base import TaskHubStore
from devhost.store.memory import MemoryStore
from devhost.testing import AsyncDurableHarness
from tests.devhost.entities import entity_app
from tests.support.azurite import azurite  # noqa: F401  (session fixture)

STORES = ["memory", pytest.param("azurite", marks=pytest.mark.azurite)]


def _store(request: pytest.FixtureRequest) -> TaskHubStore:
    if request.param == "memory":
        return MemoryStore()
    from devhost.store.azure import create_store

    emulator = request.getfixturevalue("azurite")
    return create_store(
        emulator.connection_string, hub_name="Ent" + uuid.uuid4().hex[:12], max_polling_interval=0.5
    )


@pytest.fixture(params=STORES)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[AsyncDurableHarness]:
    store = _store(request)
    await store.open()
    h = AsyncDurableHarness(entity_app.app, store=store)
    try:
        yield h
    finally:
        h.close()
        await store.close()


@pytest.fixture(params=STORES)
async def host(request: pytest.FixtureRequest) -> AsyncIterator[DurableTestHost]:
    store = _store(request)
    hub = str(getattr(store, "hub", "TestHubName"))
    async with durable_host(entity_app, store=store, hub_name=hub) as running:
        yield running
