"""Store factory for the store-agnostic conformance suite.

The suite runs on the in-memory store here. To run it on another ``TaskHubStore`` (the Azure Storage store),
create a test module that star-imports the suite and overrides ``store_factory``:

    from tests.devhost.conformance.test_store_contract import *   # noqa: F403
    from tests.devhost.conformance.test_engine_on_store import *  # noqa: F403

    @pytest.fixture
    def store_factory(azurite):            # -> async () -> an opened, EMPTY store (fresh task hub)
        async def make():
            s = AzureStore(azurite.connection_string, hub=f"t{uuid.uuid4().hex[:12]}")
            await s.open()
            return s
        return make
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from devhost.store.base import TaskHubStore
from devhost.store.memory import MemoryStore

StoreFactory = Callable[[], Awaitable[TaskHubStore]]


@pytest.fixture
def store_factory() -> StoreFactory:
    async def make() -> TaskHubStore:
        return MemoryStore()

    return make


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[TaskHubStore]:
    s = await store_factory()
    try:
        yield s
    finally:
        await s.close()
