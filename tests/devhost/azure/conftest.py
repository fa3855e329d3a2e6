"""Fixtures for the Azure Storage store tests: one Azurite per session, a unique task hub per test."""

import uuid
from collections.abc import AsyncIterator

import pytest

from devhost.store.azure import AzureStorageStore, create_store
from tests.support.azurite import Azurite, azurite  # noqa: F401  (session fixture shared by this folder)


@pytest.fixture
def hub_name() -> str:
    return "T" + uuid.uuid4().hex[:16]


@pytest.fixture
async def azure_store(azurite: Azurite, hub_name: str) -> AsyncIterator[AzureStorageStore]:  # noqa: F811
    store = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=1.0)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
