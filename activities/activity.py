"""The one shape of every activity: wire in → call the suppliers → wire out, with the error mapping.

An activity body is a plain coroutine `(order, clients) -> outcome` over typed models; `activity`
turns it into the function the runtime calls (a JSON-ready order in, a JSON-ready outcome out).
Supplier errors become booking errors here: a transient failure raises `TransientSupplierError`,
whose message carries the supplier's Retry-After and whether the outcome is unknown (the call may
have been carried out without an answer) to the orchestrator (the only channel there is).
The runtime passes the invocation's `context`; its W3C trace is current while the body runs, so every
supplier request of the activity carries the booking's trace. Each invocation (each attempt of a retried
step) is one span, child of that trace, with the booking, trip and invocation ids its order names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar, cast

import azure.functions as func

import suppliers
import telemetry
from activities.clients import ClientsFor, SupplierClients
from activities.scope import order_scope
from booking.errors import SupplierProtocolError, TransientSupplierError
from booking.wire import WireModel
from suppliers.base import joined_trace

OrderT = TypeVar("OrderT", bound=WireModel)
Body = Callable[[OrderT, SupplierClients], Awaitable[WireModel]]
ActivityFunction = Callable[..., Awaitable[dict[str, Any]]]
# A direct call (a test) may pass no context; the runtime always passes one.
_NO_CONTEXT = cast(func.Context, None)


def activity(
    name: str, order_type: type[OrderT], body: Body[OrderT], clients_for: ClientsFor
) -> ActivityFunction:
    """The runtime's function `name` for `body`: parses the order, gives the body the clients (the
    patient ones when the order says it must finish), maps supplier errors, answers the wire form."""

    async def run(order: Any, context: func.Context = _NO_CONTEXT) -> dict[str, Any]:
        parsed = order_type.from_wire(order)
        clients = clients_for(bool(getattr(parsed, "patient", None)))
        invocation = context.invocation_id if context is not None else None
        with (
            joined_trace(context.trace_context if context is not None else None),
            telemetry.scope(function=name, invocation_id=invocation, **order_scope(parsed)),
            telemetry.span(f"activity {name}"),
        ):
            async with supplier_errors():
                outcome = await body(parsed, clients)
        return outcome.to_wire()

    # The runtime indexes a function by its name: each activity keeps its durable name.
    run.__name__ = run.__qualname__ = str(name)
    # The worker checks a `context` parameter's annotation is azure.functions.Context itself; under
    # `from __future__ import annotations` it would be a string, so the real class is set here.
    run.__annotations__["context"] = func.Context
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
