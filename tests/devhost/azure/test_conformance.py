"""The engine's store-agnostic conformance suite (contract + engine end to end) on the Azure Storage store."""

import uuid

import pytest

from devhost.store.azure import create_store
from devhost.store.base import TaskHubStore
from tests.devhost.conformance.conftest import StoreFactory, store  # noqa: F401
from tests.devhost.conformance.test_engine_on_store import *  # noqa: F403
from tests.devhost.conformance.test_store_contract import *  # noqa: F403
from tests.support.azurite import Azurite


@pytest.fixture
def store_factory(azurite: Azurite) -> StoreFactory:  # noqa: F811
    async def make() -> TaskHubStore:
        s = create_store(
            azurite.connection_string, hub_name=f"c{uuid.uuid4().hex[:12]}", max_polling_interval=1.0
        )
        await s.open()
        return s

    return make
