"""Orchestrator code runs where the Python worker runs it (PROTOCOL.md §34): on a pool thread with no
event loop running, so an orchestrator that runs a loop of its own works under devhost as in Azure."""

from __future__ import annotations

import asyncio
import threading

import azure.durable_functions as df

from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness


def make_app() -> df.DFApp:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def own_loop(context: df.DurableOrchestrationContext):
        async def compute() -> int:
            await asyncio.sleep(0)
            return 42

        value = asyncio.run(compute())  # "cannot be called from a running event loop" on the loop thread
        running = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            running = False
        yield context.call_activity("echo", value)
        return {"value": value, "loop_running": running, "thread": threading.current_thread().name}

    @app.activity_trigger(input_name="value")
    def echo(value: int) -> int:
        return value

    return app


def test_an_orchestrator_that_runs_its_own_event_loop_completes() -> None:
    with DurableHarness(make_app()) as h:
        status = h.wait_for_completion(h.start_new("own_loop"))
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    assert status.output["value"] == 42 and status.output["loop_running"] is False
    assert status.output["thread"] != threading.main_thread().name
