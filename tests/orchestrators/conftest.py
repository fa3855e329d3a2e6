"""Fixtures of the orchestrator tests: the harness with stand-in suppliers, and the real sandbox for
the tests that run the app's real activities end to end."""

from collections.abc import Iterator

import pytest

from devhost.testing import DurableHarness
from devhost.versioning import Versioning
from tests.orchestrators.world import Suppliers, make_app
from tests.support.sandbox import app_settings_on_sandbox, sandbox  # noqa: F401  (fixtures for this folder)


@pytest.fixture
def world() -> Iterator[tuple[DurableHarness, Suppliers]]:
    """The app on devhost's harness with every activity replaced by a `Suppliers` stand-in."""
    suppliers = Suppliers()
    with DurableHarness(make_app()) as harness:
        suppliers.install(harness)
        yield harness, suppliers


@pytest.fixture
def world_v2() -> Iterator[tuple[DurableHarness, Suppliers]]:
    """The same, on a host whose default version is 2.0: new orchestrations consult the supplier
    circuit breaker (the `supplier_circuit` entity)."""
    suppliers = Suppliers()
    with DurableHarness(make_app(), versioning=Versioning(default_version="2.0")) as harness:
        suppliers.install(harness)
        yield harness, suppliers
