"""A small app for the Azure store's engine and crash tests: chaining with slow activities, a durable timer,
a fan-out and a sub-orchestration, so that activities, timers and child instances are in flight at once."""

import datetime as dt
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Slow enough that a kill lands while activities are running.
DELAY = float(os.environ.get("CRASH_APP_ACTIVITY_SECONDS", "0.2"))


@app.orchestration_trigger(context_name="context")
def journey(context: df.DurableOrchestrationContext):
    name = context.get_input()
    first = yield context.call_activity("greet", name)
    yield context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=2))
    doubled = yield context.task_all([context.call_activity("double", i) for i in range(3)])
    child = yield context.call_sub_orchestrator("leg", f"{name}-leg")
    last = yield context.call_activity("greet", child)
    return [first, doubled, child, last]


@app.orchestration_trigger(context_name="context")
def leg(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("greet", context.get_input())
    return value.upper()


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    time.sleep(DELAY)
    return f"Hello {name}!"


@app.activity_trigger(input_name="n")
def double(n: int) -> int:
    time.sleep(DELAY)
    return n * 2


def expected(name: str) -> list[object]:
    child = f"Hello {name}-leg!".upper()
    return [f"Hello {name}!", [0, 2, 4], child, f"Hello {child}!"]
