"""The one Durable blueprint of clients/, and `endpoint`, the only way a client function is registered.

`endpoint` puts every handler inside the problem boundary (errors cross the edge in one place) and
gives it the durable client binding, so no handler can forget either.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from clients.problems import problem_boundary

bp = df.Blueprint()

Handler = Callable[..., Awaitable[func.HttpResponse]]


def endpoint(
    route: str, method: str, *, auth_level: func.AuthLevel | None = None, durable: bool = True
) -> Callable[[Handler], Handler]:
    """Register `handler` on `bp` for `method route`; `auth_level` None means the app's (FUNCTION).

    A durable endpoint receives the SDK's `DurableOrchestrationClient` as its `client` argument.
    Returns the handler unchanged (the runtime calls the registered, wrapped function).
    """

    def register(handler: Handler) -> Handler:
        builder: Any = problem_boundary(handler)
        if durable:
            builder = bp.durable_client_input(client_name="client")(builder)
        bp.route(route=route, methods=[method], auth_level=auth_level)(builder)
        return handler

    return register
