"""The `supplier_circuit` entity: one per supplier API (the key: `conference`, `airline`, `rail`, `hotel`),
holding that supplier's circuit breaker (`booking.circuit`, where the transitions and why are).

Operations, each answering a `Decision`: `ask` (may I call now?), `peek` (is it closed? changing nothing)
and `report` (how the call went). The
entity runs one operation at a time (PROTOCOL.md §37), so bookings racing for the one probe cannot both
get it. Times and the policy come in each operation's input, from the calling orchestration.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from booking.circuit import CIRCUIT_ENTITY, run
from orchestrators._blueprint import bp


@bp.entity_trigger(context_name="context", entity_name=CIRCUIT_ENTITY)  # type: ignore[untyped-decorator]
def supplier_circuit(context: df.DurableEntityContext) -> None:
    stored: Any = context.get_state(lambda: None)
    state, decision = run(context.operation_name or "", stored, context.get_input())
    context.set_state(state.to_wire())
    context.set_result(decision.to_wire())
