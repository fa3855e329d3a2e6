"""Which waiter an external event completes, as the extension's shadow context decides it.

The extension keeps the open waits for one event name on a stack (DurableOrchestrationContext
.WaitForExternalEvent: "We use a stack ... to make it easier for users to abandon external events that
they no longer care about. The common case is a Task.WhenAny in a loop."): an event goes to the newest
wait. A wait abandoned by an earlier loop turn must not swallow it, or the actions after the new wait are
never scheduled and the instance hangs where Azure would carry on.
"""

from __future__ import annotations

import azure.durable_functions as df

from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def approval_loop(context: df.DurableOrchestrationContext):
    for turn in range(3):
        approval = context.wait_for_external_event("Approve")
        ping = context.wait_for_external_event("Ping")
        winner = yield context.task_any([approval, ping])
        if winner == approval:
            note = yield context.call_activity("record", turn)
            return note
    return "no approval"


@app.activity_trigger(input_name="turn")
def record(turn: int) -> str:
    return f"approved on turn {turn}"


def test_an_event_goes_to_the_newest_wait_not_one_abandoned_by_a_when_any() -> None:
    with DurableHarness(app) as h:
        iid = h.start_new("approval_loop")
        h.run_until_idle()
        h.raise_event(iid, "Ping", 1)  # turn 0 ends on the ping; its wait for Approve stays open, abandoned
        h.run_until_idle()
        h.raise_event(iid, "Approve", True)

        status = h.wait_for_completion(iid)

        assert status.runtime_status is RuntimeStatus.Completed, status.output
        assert status.output == "approved on turn 1"
        scheduled = [e["Name"] for e in h.history(iid) if e["EventType"] == 4]
        assert scheduled == ["record"]
