"""A Python v2 app with entities, as a user writes it: a counter, an entity that raises, orchestrators that
call and signal them (and catch an entity's error)."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:  # noqa: N802 - entity names are user-chosen
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        value += context.get_input()
        context.set_state(value)
    elif op == "reset":
        context.set_state(0)
    elif op == "get":
        context.set_result(value)
    elif op == "delete":
        context.destruct_on_exit()
    elif op == "fail":
        # Set before raising: the SDK keeps it (no rollback for out-of-process entities, PROTOCOL.md §37).
        context.set_state(value + 1000)
        raise ValueError(f"counter refused at {value}")


@app.entity_trigger(context_name="context", entity_name="Log")
def log_entity(context: df.DurableEntityContext) -> None:
    entries = context.get_state(list)
    if context.operation_name == "append":
        # The crash test slows operations down so that a kill lands while some are still queued.
        time.sleep(float(os.environ.get("ENTITY_APP_OP_SECONDS", "0")))
        entries.append(context.get_input())
        context.set_state(entries)
    context.set_result(entries)


@app.orchestration_trigger(context_name="context")
def add_and_get(context: df.DurableOrchestrationContext) -> Any:
    key = context.get_input() or "c1"
    counter = df.EntityId("Counter", key)
    context.signal_entity(counter, "add", 3)
    first = yield context.call_entity(counter, "get")
    yield context.call_entity(counter, "add", 4)
    second = yield context.call_entity(counter, "get")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def catch_entity_error(context: df.DurableOrchestrationContext) -> Any:
    counter = df.EntityId("Counter", "fails")
    try:
        yield context.call_entity(counter, "fail")
    except Exception as exc:  # noqa: BLE001 - the point: an entity's error is catchable
        value = yield context.call_entity(counter, "get")
        return {"caught": str(exc), "after": value}
    return "not raised"


@app.orchestration_trigger(context_name="context")
def appender(context: df.DurableOrchestrationContext) -> Any:
    log = df.EntityId("Log", "shared")
    n = context.get_input()
    for i in range(3):
        yield context.call_entity(log, "append", f"{n}-{i}")
    return n


@app.orchestration_trigger(context_name="context")
def unknown_entity(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_entity(df.EntityId("Nope", "k"), "get")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def call_with_timeout(context: df.DurableOrchestrationContext) -> Any:
    call = context.call_entity(df.EntityId("Counter", "timed"), "get")
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(hours=1))
    winner = yield context.task_any([call, timer])
    if winner == call:
        timer.cancel()
        return {"value": call.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def odd_ids(context: df.DurableOrchestrationContext) -> Any:
    """Keys and names an orchestrator may use although the client's signal refuses them."""
    name, key = context.get_input()
    entity = df.EntityId(name, key)
    yield context.call_entity(entity, "add", 2)
    return (yield context.call_entity(entity, "get"))


@app.orchestration_trigger(context_name="context")
def signal_unknown_entity(context: df.DurableOrchestrationContext) -> Any:
    context.signal_entity(df.EntityId("Nope", "k"), "add", 1)
    yield context.call_entity(df.EntityId("Counter", "after-unknown"), "get")
    return "unreachable"
