"""Fixtures of the serving tests: Azurite (one emulator per session) and a devhost serving DURABLE_APP on
the in-memory task hub and on the Azure Storage one."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.http.testing import DurableTestHost, durable_host
from devhost.loader import load_app
from tests.devhost.host.apps import DURABLE_APP, write_app
from tests.support.azurite import azurite  # noqa: F401  (session fixture)


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DurableTestHost]:
    """The same client tests on the in-memory task hub and on the Azure Storage one (Azurite)."""
    root = write_app(tmp_path / "durable_app", DURABLE_APP)
    module, _ = load_app(root, {})
    store = None
    hub = "TestHubName"
    if request.param == "azurite":
        from devhost.store.azure import create_store

        azurite = request.getfixturevalue("azurite")
        hub = "Sdk" + uuid.uuid4().hex[:12]
        store = create_store(azurite.connection_string, hub_name=hub, max_polling_interval=0.5)
    async with durable_host(module, store=store, hub_name=hub) as running:
        yield running
