"""Fixtures of the serving tests: Azurite (one emulator per session) and a devhost serving DURABLE_APP on
the in-memory task hub and on the Azure Storage one."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.http.testing import DurableTestHost
from tests.devhost.host.apps import DURABLE_APP, serving, write_app
from tests.support.azurite import azurite  # noqa: F401  (session fixture)


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DurableTestHost]:
    """The same client tests on the in-memory task hub and on the Azure Storage one (Azurite)."""
    async with serving(request, write_app(tmp_path / "durable_app", DURABLE_APP), "Sdk") as running:
        yield running
