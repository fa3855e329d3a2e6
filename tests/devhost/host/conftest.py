"""Fixtures of the serving tests: Azurite (one emulator per session), a devhost serving DURABLE_APP on
the in-memory task hub and on the Azure Storage one, and the same two stores named for a devhost process."""

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


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    """`--storage` for a devhost process: the in-memory hub, or the session's Azurite."""
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)
