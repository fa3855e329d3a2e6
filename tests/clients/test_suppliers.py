"""`GET /api/suppliers` with the real app on devhost (in-memory task hub): the circuits as the
`supplier_circuit` entities hold them, read through the SDK's durable client."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df

import function_app
from booking.circuit import CIRCUIT_ENTITY, CircuitPolicy, CircuitReport
from booking.settings import get_settings
from devhost.http.testing import durable_host
from tests.clients.support import body_of, invoke, request


async def listed(binding: str) -> dict[str, dict[str, object]]:
    response = await invoke("list_suppliers", request("GET", "suppliers"), binding)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    return {s["supplier"]: s for s in body_of(response)["suppliers"]}


async def test_no_reports_yet_lists_every_trip_supplier_closed() -> None:
    async with durable_host(function_app.app) as host:
        circuits = await listed(host.client_binding)
    assert list(circuits) == ["conference", "airline", "rail", "hotel"]
    assert all(c == {"supplier": s, "circuit": "closed", "recentFailures": 0} for s, c in circuits.items())


async def test_an_open_circuit_shows_its_failures_and_its_next_probe() -> None:
    policy: CircuitPolicy = get_settings().circuit_policy
    async with durable_host(function_app.app) as host:
        client = df.DurableOrchestrationClient(host.client_binding)
        airline = df.EntityId(CIRCUIT_ENTITY, "airline")
        start = datetime.now(UTC)
        times = [start + timedelta(milliseconds=n) for n in range(policy.failure_threshold)]
        for at in times:
            failed = CircuitReport(now=at, policy=policy, ok=False)
            await client.signal_entity(airline, "report", failed.to_wire())
        deadline = time.monotonic() + 10
        circuits = await listed(host.client_binding)
        while circuits["airline"]["circuit"] != "open" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            circuits = await listed(host.client_binding)

    airline_view = circuits["airline"]
    assert airline_view["circuit"] == "open"
    assert airline_view["recentFailures"] == policy.failure_threshold
    opened = datetime.fromisoformat(str(airline_view["openedAt"]))
    assert opened == times[-1]
    assert datetime.fromisoformat(str(airline_view["nextProbeAt"])) == opened + policy.cooldown
    assert circuits["rail"] == {"supplier": "rail", "circuit": "closed", "recentFailures": 0}
