"""Function apps written for the serving tests, as source text dropped into a temporary app root."""

from __future__ import annotations

import contextlib
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.http.testing import DurableTestHost, durable_host
from devhost.loader import load_app

HTTP_APP = textwrap.dedent(
    """
    import json
    import threading

    import azure.functions as func

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    bp = func.Blueprint()


    @app.route(route="hello/{name}", methods=["GET"])
    def hello(req: func.HttpRequest) -> str:
        return f"Hello {req.route_params['name']}"


    @app.route(route="echo/{*rest}")
    def echo(req: func.HttpRequest) -> func.HttpResponse:
        body = {
            "method": req.method,
            "url": req.url,
            "params": dict(req.params),
            "route": dict(req.route_params),
            "header": req.headers.get("x-test"),
            "body": req.get_body().decode(),
            "thread": threading.current_thread() is not threading.main_thread(),
        }
        return func.HttpResponse(json.dumps(body), status_code=201, mimetype="application/json",
                                 headers={"X-Served-By": "echo"})


    @app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("number " + req.route_params["id"])


    @app.route(route="items/{name}", methods=["GET"])
    def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("name " + req.route_params["name"], mimetype="text/html", charset="latin-1")


    @app.route(route="items/special", methods=["GET"])
    def item_special(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("special")


    @app.route(route="opt/{id?}", methods=["GET"])
    async def optional(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps(dict(req.route_params)), mimetype="application/json")


    @app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
    def admin_only(req: func.HttpRequest) -> str:
        return "admin"


    @app.route(route="boom", methods=["GET", "POST"])
    def boom(req: func.HttpRequest) -> str:
        raise RuntimeError("secret internal detail")


    @app.route(route="aboom", methods=["GET"])
    async def aboom(req: func.HttpRequest) -> str:
        raise ValueError("async secret detail")


    @app.route(route="ctx", methods=["GET"])
    def with_context(req: func.HttpRequest, context: func.Context) -> str:
        return context.invocation_id + "|" + context.function_name


    @app.route(route="wrongtype", methods=["GET"])
    def wrong_type(req: func.HttpRequest):
        return 42


    @app.route(route="returns-none", methods=["GET"])
    def returns_none(req: func.HttpRequest):
        return None


    @bp.route(route="from-blueprint", methods=["GET"])
    def from_blueprint(req: func.HttpRequest) -> str:
        return "blueprint"


    app.register_functions(bp)
    """
)


CHAINING_APP = textwrap.dedent(
    '''
    """The shape of Microsoft's function_chaining sample (Python v2)."""
    import azure.functions as func
    import azure.durable_functions as df

    myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @myApp.route(route="orchestrators/{functionName}")
    @myApp.durable_client_input(client_name="client")
    async def http_start(req: func.HttpRequest, client):
        function_name = req.route_params.get("functionName")
        instance_id = await client.start_new(function_name)
        response = client.create_check_status_response(req, instance_id)
        return response


    @myApp.orchestration_trigger(context_name="context")
    def function_chaining(context):
        result1 = yield context.call_activity("say_hello", "Tokyo")
        result2 = yield context.call_activity("say_hello", "Seattle")
        result3 = yield context.call_activity("say_hello", "London")
        return [result1, result2, result3]


    @myApp.activity_trigger(input_name="city")
    def say_hello(city: str) -> str:
        return f"Hello {city}!"
    '''
)


DURABLE_APP = textwrap.dedent(
    '''
    """Orchestrations the SDK-client tests drive: chaining, waiting for an event, failing."""
    import json

    import azure.functions as func
    import azure.durable_functions as df

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.orchestration_trigger(context_name="context")
    def chaining(context):
        city = context.get_input() or {"city": "Tokyo"}
        first = yield context.call_activity("say_hello", city["city"])
        second = yield context.call_activity("say_hello", "Seattle")
        return [first, second]


    @app.orchestration_trigger(context_name="context")
    def approval(context):
        context.set_custom_status({"stage": "waiting"})
        value = yield context.wait_for_external_event("Approval")
        context.set_custom_status({"stage": "done"})
        return {"approved": value}


    @app.orchestration_trigger(context_name="context")
    def failing(context):
        yield context.call_activity("explode", None)
        return "unreachable"


    @app.activity_trigger(input_name="city")
    def say_hello(city: str) -> str:
        return f"Hello {city}!"


    @app.activity_trigger(input_name="value")
    def explode(value):
        raise ValueError("kaboom")


    @app.route(route="start/{name}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start(req: func.HttpRequest, client) -> func.HttpResponse:
        body = req.get_json() if req.get_body() else None
        instance_id = await client.start_new(req.route_params["name"], None, body)
        return client.create_check_status_response(req, instance_id)


    @app.route(route="wait/{name}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start_and_wait(req: func.HttpRequest, client, context: func.Context) -> func.HttpResponse:
        instance_id = await client.start_new(req.route_params["name"], None, None)
        return await client.wait_for_completion_or_create_check_status_response(req, instance_id, 20000, 50)
    '''
)


def write_app(
    root: Path, source: str, *, host_json: str | None = None, settings: dict[str, str] | None = None
) -> Path:
    import json

    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(source)
    if host_json is not None:
        (root / "host.json").write_text(host_json)
    if settings is not None:
        (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": settings}))
    return root


TIMER_APP = textwrap.dedent(
    """
    import azure.functions as func

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
    def every_five_minutes(timer: func.TimerRequest) -> None:
        pass


    @app.route(route="with-queue", methods=["POST"])
    @app.queue_output(arg_name="msg", queue_name="outq", connection="AzureWebJobsStorage")
    def with_queue(req: func.HttpRequest, msg: func.Out[str]) -> str:
        msg.set("x")
        return "queued"
    """
)


@contextlib.asynccontextmanager
async def serving(
    request: pytest.FixtureRequest, root: Path, hub_prefix: str
) -> AsyncIterator[DurableTestHost]:
    """devhost serving the app at `root` on the task hub the fixture's param names: `memory`, or `azurite`
    (a fresh hub named `<hub_prefix><random>` on the session's Azurite)."""
    module, _ = load_app(root, {})
    store = None
    hub = "TestHubName"
    if request.param == "azurite":
        from devhost.store.azure import create_store

        azurite = request.getfixturevalue("azurite")
        hub = hub_prefix + uuid.uuid4().hex[:12]
        store = create_store(azurite.connection_string, hub_name=hub, max_polling_interval=0.5)
    async with durable_host(module, store=store, hub_name=hub) as running:
        yield running


# An HTTP function that shows its trace context, a starter that starts `parent` in the caller's trace, and
# an orchestration with two activities, an optional wait and a sub-orchestration (PROTOCOL.md §35).
TRACE_APP = textwrap.dedent(
    '''
    import json

    import azure.durable_functions as df
    import azure.functions as func
    from opentelemetry import context as otel_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.route(route="whoami", methods=["GET", "POST"])
    def whoami(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        trace = context.trace_context
        body = {"traceparent": trace.trace_parent, "tracestate": trace.trace_state}
        return func.HttpResponse(json.dumps(body), mimetype="application/json")


    @app.route(route="start", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start(req: func.HttpRequest, client, context: func.Context) -> func.HttpResponse:
        # What the booking app's starter does: the invocation's trace becomes current, so the SDK's
        # start_new sends it as the traceparent header. `?then=wait` makes the parent wait for "go".
        carrier = {"traceparent": context.trace_context.trace_parent}
        token = otel_context.attach(TraceContextTextMapPropagator().extract(carrier))
        try:
            iid = await client.start_new("parent", None, req.params.get("then"))
        finally:
            otel_context.detach(token)
        return func.HttpResponse(iid)


    @app.orchestration_trigger(context_name="context")
    def parent(context):
        first = yield context.call_activity("seen", "a")
        second = yield context.call_activity("seen", "b")
        if context.get_input() == "wait":
            yield context.wait_for_external_event("go")
        nested = yield context.call_sub_orchestrator("child", None)
        return [first, second, nested]


    @app.orchestration_trigger(context_name="context")
    def child(context):
        return (yield context.call_activity("seen", "c"))


    @app.activity_trigger(input_name="value")
    def seen(value: str, context: func.Context) -> str:
        return context.trace_context.trace_parent
    '''
)
