# Orchestrators used to generate the test vectors (Python v2 model, DFApp).
import datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def chaining(context: df.DurableOrchestrationContext):
    r1 = yield context.call_activity("say_hello", "Tokyo")
    r2 = yield context.call_activity("say_hello", "Seattle")
    r3 = yield context.call_activity("say_hello", "London")
    return [r1, r2, r3]


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    items = yield context.call_activity("get_work_items", None)
    tasks = [context.call_activity("process_item", i) for i in items]
    results = yield context.task_all(tasks)
    return sum(results)


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + datetime.timedelta(hours=1)
    timeout_task = context.create_timer(deadline)
    approval_task = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval_task, timeout_task])
    if winner == approval_task:
        timeout_task.cancel()
        return {"approved": approval_task.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    r = yield context.call_activity_with_retry("flaky", opts, "x")
    return r


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    a = yield context.call_sub_orchestrator("child", {"n": 1})
    b = yield context.call_sub_orchestrator("child", {"n": 2}, "my-child-id")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "started"})
    r = yield context.call_activity("say_hello", "Tokyo")
    context.set_custom_status({"stage": "done", "last": r})
    return r


@app.orchestration_trigger(context_name="context")
def catch_activity_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", None)
        return "no error"
    except Exception as e:
        return "caught: " + str(e)


@app.orchestration_trigger(context_name="context")
def uncaught_activity_error(context: df.DurableOrchestrationContext):
    r = yield context.call_activity("boom", None)
    return r


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    n = context.get_input() or 0
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(seconds=10))
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return n


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext):
    a = yield context.wait_for_external_event("A")
    b = yield context.wait_for_external_event("B")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def same_event_twice(context: df.DurableOrchestrationContext):
    a = yield context.wait_for_external_event("Ping")
    b = yield context.wait_for_external_event("Ping")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def late_waiter(context: df.DurableOrchestrationContext):
    yield context.call_activity("noop", None)
    a = yield context.wait_for_external_event("Ping")
    b = yield context.wait_for_external_event("Ping")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(days=10))
    return "woke up"
