"""`GET /api/suppliers`: each supplier's circuit breaker as an operator needs it (function auth).

The state is the `supplier_circuit` entity's (booking/circuit.py), read through the durable client; a
supplier no trip has reported on yet has no entity and shows closed. `recentFailures` counts the
failures within the window of the app's current settings; `nextProbeAt` is when an open circuit lets
one call through (the first call after it probes, so a time in the past means "with the next call"),
or, half-open, when the probe under way loses its turn if it has not reported.

Like the other endpoint modules, this one does not postpone annotations (the worker inspects the
handler's signature).
"""

import asyncio
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func
from pydantic import Field

from booking.circuit import CIRCUIT_ENTITY, CircuitState, CircuitStatus
from booking.settings import get_settings
from booking.wire import WireModel
from clients.blueprint import endpoint
from clients.errors import DurableUnavailable
from clients.responses import json_response

# The supplier APIs a trip books with, each one circuit (booking/trip_steps.py names them per step).
SUPPLIERS = ("conference", "airline", "rail", "hotel")


class SupplierCircuit(WireModel):
    supplier: str
    circuit: CircuitStatus
    recent_failures: int = Field(ge=0)
    opened_at: datetime | None = None
    next_probe_at: datetime | None = None


class SupplierList(WireModel):
    suppliers: list[SupplierCircuit]


async def circuit_state(client: df.DurableOrchestrationClient, supplier: str) -> CircuitState:
    try:
        response = await client.read_entity_state(df.EntityId(CIRCUIT_ENTITY, supplier))
    except Exception as exc:
        raise DurableUnavailable(f"read_entity_state failed: {type(exc).__name__}") from exc
    if not response.entity_exists:
        return CircuitState()
    return CircuitState.load(response.entity_state)


def supplier_circuit(supplier: str, state: CircuitState, now: datetime) -> SupplierCircuit:
    closed = state.status is CircuitStatus.CLOSED
    return SupplierCircuit(
        supplier=supplier,
        circuit=state.status,
        recent_failures=state.recent_failures(now, get_settings().circuit_policy),
        opened_at=None if closed else state.opened_at,
        next_probe_at=None if closed else state.probe_at,
    )


@endpoint("suppliers", "GET")
async def list_suppliers(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    states = await asyncio.gather(*(circuit_state(client, supplier) for supplier in SUPPLIERS))
    now = datetime.now(UTC)
    listed = SupplierList(
        suppliers=[supplier_circuit(s, state, now) for s, state in zip(SUPPLIERS, states, strict=True)]
    )
    return json_response(listed.to_wire())
