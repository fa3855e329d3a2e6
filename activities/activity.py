"""The one shape of every activity: wire in → call the suppliers → wire out, with the error mapping.

An activity body is a plain coroutine `(order, clients) -> outcome` over typed models; `activity`
turns it into the function the runtime calls (a JSON-ready order in, a JSON-ready outcome out).
Supplier errors become booking errors here: a transient failure raises `TransientSupplierError`,
whose message carries the supplier's Retry-After and whether the outcome is unknown (the call may
have been carried out without an answer) to the orchestrator (the only channel there is).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

import suppliers
from activities.clients import ClientsFor, SupplierClients
from booking.errors import SupplierProtocolError, TransientSupplierError
from booking.wire import WireModel

OrderT = TypeVar("OrderT", bound=WireModel)
Body = Callable[[OrderT, SupplierClients], Awaitable[WireModel]]
ActivityFunction = Callable[[Any], Awaitable[dict[str, Any]]]


def activity(
    name: str, order_type: type[OrderT], body: Body[OrderT], clients_for: ClientsFor
) -> ActivityFunction:
    """The runtime's function `name` for `body`: parses the order, gives the body the clients (the
    patient ones when the order says it must finish), maps supplier errors, answers the wire form."""

    async def run(order: Any) -> dict[str, Any]:
        parsed = order_type.from_wire(order)
        clients = clients_for(bool(getattr(parsed, "patient", None)))
        async with supplier_errors():
            outcome = await body(parsed, clients)
        return outcome.to_wire()

    # The runtime indexes a function by its name: each activity keeps its durable name.
    run.__name__ = run.__qualname__ = str(name)
    return run


@asynccontextmanager
async def supplier_errors() -> AsyncIterator[None]:
    try:
        yield
    except suppliers.SupplierUnavailable as exc:
        retry_after = None if exc.retry_after is None else timedelta(seconds=exc.retry_after)
        raise TransientSupplierError(
            exc.supplier, _message(exc), retry_after=retry_after, outcome_unknown=exc.outcome_unknown
        ) from None
    except suppliers.SupplierProtocolError as exc:
        raise SupplierProtocolError(exc.supplier, _message(exc)) from None


def _message(exc: suppliers.SupplierError) -> str:
    return str(exc).removeprefix(f"{exc.supplier}: ")
