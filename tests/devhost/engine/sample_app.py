"""A function app exercising the engine's edge cases (bad orchestrators, lifecycle, activities)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    raise RuntimeError("orchestrator blew up")


@app.orchestration_trigger(context_name="context")
def yields_non_task(context: df.DurableOrchestrationContext):
    yield 42


@app.orchestration_trigger(context_name="context")
def unserializable(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    return object()


@app.orchestration_trigger(context_name="context")
def diverges(context: df.DurableOrchestrationContext):
    # the activity chosen depends on a non-deterministic global: replay sees another name at position 0
    name = DIVERGE["name"]
    yield context.call_activity(name, 1)
    yield context.wait_for_external_event("Go")
    return "done"


DIVERGE = {"name": "echo"}


@app.orchestration_trigger(context_name="context")
def calls_unknown(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)


@app.orchestration_trigger(context_name="context")
def calls_unknown_sub(context: df.DurableOrchestrationContext):
    yield context.call_sub_orchestrator("no_such_orchestrator", 1)


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    v = yield context.call_activity("echo", context.get_input())
    return v


@app.orchestration_trigger(context_name="context")
def wait_event(context: df.DurableOrchestrationContext):
    v = yield context.wait_for_external_event("Go")
    return v


@app.orchestration_trigger(context_name="context")
def forgotten_timer(context: df.DurableOrchestrationContext):
    # a timer that is created, raced, and never cancelled keeps the instance Running until it fires
    t = context.create_timer(context.current_utc_datetime + dt.timedelta(hours=2))
    e = context.wait_for_external_event("Go")
    yield context.task_any([t, e])
    return "returned"


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = context.get_input()
    results = yield context.task_all([context.call_activity("async_double", i) for i in range(n)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def fail_fast_all(context: df.DurableOrchestrationContext):
    try:
        yield context.task_all([context.call_activity("fail", "a"), context.call_activity("slow", "b")])
    except Exception:
        r = yield context.call_activity("echo", "compensated")
        return r
    return "no error"


@app.orchestration_trigger(context_name="context")
def uuids(context: df.DurableOrchestrationContext):
    first = str(context.new_uuid())
    yield context.call_activity("echo", 1)
    return [first, str(context.new_uuid())]


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="value")
async def async_double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


@app.activity_trigger(input_name="value")
def fail(value: Any) -> Any:
    raise KeyError(value)


@app.activity_trigger(input_name="value")
async def slow(value: Any) -> Any:
    return value


@app.function_name("RenamedActivity")
@app.activity_trigger(input_name="payload", activity="renamed_override")
def renamed(payload: Any) -> Any:
    return {"got": payload}


@app.activity_trigger(input_name="value")
def with_context(value: Any, context: func.Context) -> Any:
    return [value, context.function_name]


@app.orchestration_trigger(context_name="context")
def call_renamed(context: df.DurableOrchestrationContext):
    a = yield context.call_activity("RENAMED_OVERRIDE", "x")
    b = yield context.call_activity("with_context", "y")
    return [a, b]


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"])
    response: func.HttpResponse = client.create_check_status_response(req, iid)
    return response


@app.orchestration_trigger(context_name="context")
def parent_of_waiter(context: df.DurableOrchestrationContext):
    try:
        v = yield context.call_sub_orchestrator("wait_event", None, "the-child")
        return v
    except Exception as e:
        return "child failed: " + str(e)


@app.orchestration_trigger(context_name="context")
def can_events(context: df.DurableOrchestrationContext):
    if context.get_input() == 0:
        yield context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=1))
        context.continue_as_new(1)
        return None
    v = yield context.wait_for_external_event("E")
    return v
