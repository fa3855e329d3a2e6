"""What azure-functions-durable 1.7.0 does with external events, pinned through the real SDK on devhost's
harness (whose shim reproduces the extension's side). `orchestrators/payment.py` and `orchestrators/batch.py`
are built on these facts; devhost/PROTOCOL.md §30 says where in the SDK each one comes from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

from devhost.engine.client import DurableClient
from devhost.history import EventType, RuntimeStatus
from devhost.store.base import EpisodeCommit, OrchestrationWorkItem
from devhost.store.memory import MemoryStore
from devhost.testing import DurableHarness

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def _app() -> df.DFApp:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def early_event_then_two_waits(context: df.DurableOrchestrationContext):
        # Busy (a timer) while the events arrive, then two waits in a row, each raced against an hour.
        yield context.create_timer(context.current_utc_datetime + MINUTE)
        got = []
        for _ in range(2):
            wait = context.wait_for_external_event("Ping")
            timer = context.create_timer(context.current_utc_datetime + HOUR)
            winner = yield context.task_any([wait, timer])
            if winner is timer:
                got.append("timer")
                continue
            timer.cancel()  # the round ends on the event: its timer must not hold the instance open
            got.append(winner.result)
        return got

    @app.orchestration_trigger(context_name="context")
    def wait_left_open(context: df.DurableOrchestrationContext):
        wait = context.wait_for_external_event("Ping")
        first = context.create_timer(context.current_utc_datetime + MINUTE)
        winner = yield context.task_any([wait, first])
        assert winner is first  # nothing yet: the wait stays registered
        yield context.create_timer(context.current_utc_datetime + MINUTE)  # busy while the event arrives
        delivered_while_busy = wait.is_completed
        again = context.create_timer(context.current_utc_datetime + HOUR)
        winner = yield context.task_any([wait, again])  # the same wait, yielded again
        again.cancel()
        return {"delivered_while_busy": delivered_while_busy, "value": winner.result}

    @app.orchestration_trigger(context_name="context")
    def resumed_before_the_rest_of_its_batch(context: df.DurableOrchestrationContext):
        wait = context.wait_for_external_event("Ping")
        due_now = context.create_timer(context.current_utc_datetime)
        winner = yield context.task_any([wait, due_now])
        # What this episode received: the history from its OrchestratorStarted on.
        episode = max(
            i
            for i, e in enumerate(context.histories)
            if e.event_type == HistoryEventType.ORCHESTRATOR_STARTED
        )
        return {
            "winner": "timer" if winner is due_now else "event",
            "event_handed_over": wait.is_completed,
            "batch": [int(e.event_type) for e in context.histories[episode + 1 :]],
        }

    @app.orchestration_trigger(context_name="context")
    def waits_while_open(context: df.DurableOrchestrationContext):
        got = []
        for _ in range(2):
            got.append((yield context.wait_for_external_event("Ping")))
        return got

    return app


def _run(name: str, events: list[tuple[str, Any]]) -> tuple[Any, dt.timedelta]:
    with DurableHarness(_app()) as h:
        start = h.now
        iid = h.start_new(name, None, "pin")
        h.run_until_idle()
        for event, value in events:
            h.raise_event(iid, event, value, via="http")
        h.advance(MINUTE)  # past the busy timer
        h.advance(MINUTE)
        status = h.wait_for_completion(iid)
        assert status.runtime_status is RuntimeStatus.Completed, status.output
        return status.output, h.now - start


def test_an_event_that_arrived_before_any_wait_is_handed_to_every_later_wait():
    output, _ = _run("early_event_then_two_waits", [("Ping", 1)])
    assert output == [1, 1]  # the buffer is not consumed: the second wait gets the same event again


def test_of_several_early_events_only_the_last_is_kept():
    output, _ = _run("early_event_then_two_waits", [("Ping", 1), ("Ping", 2)])
    assert output == [2, 2]  # event 1 never reaches the orchestrator


def test_a_round_won_by_a_replayed_event_does_not_stall_when_its_timer_is_cancelled():
    # The extension's side has one event for two waits; its second WhenAny completes only because
    # the SDK emitted that round's timer as cancelled. The instance finishes without the hour passing.
    _, elapsed = _run("early_event_then_two_waits", [("Ping", 1)])
    assert elapsed < HOUR


def test_a_wait_left_open_receives_an_event_that_arrives_while_the_orchestrator_is_busy():
    with DurableHarness(_app()) as h:
        iid = h.start_new("wait_left_open", None, "pin")
        h.advance(MINUTE)  # the first round ends on its timer; the wait stays registered
        h.raise_event(iid, "Ping", "hello", via="http")  # ... while the orchestrator waits on its busy timer
        h.advance(MINUTE)
        status = h.wait_for_completion(iid, max_time=MINUTE)
        assert status.runtime_status is RuntimeStatus.Completed, status.output
        assert status.output == {"delivered_while_busy": True, "value": "hello"}


def test_events_arriving_while_a_wait_is_open_are_delivered_one_per_wait_in_order():
    with DurableHarness(_app()) as h:
        iid = h.start_new("waits_while_open", None, "pin")
        h.run_until_idle()
        h.raise_event(iid, "Ping", 1, via="http")
        h.run_until_idle()
        h.raise_event(iid, "Ping", 2, via="http")
        status = h.wait_for_completion(iid, max_time=MINUTE)
        assert status.output == [1, 2]


class PingBehindTheTimer(MemoryStore):
    """Raises `Ping` right after the episode that scheduled a timer committed, before the next episode runs:
    the timer's TimerFired and the event then come in one batch, the timer first."""

    def __init__(self) -> None:
        super().__init__()
        self.client: DurableClient | None = None

    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        await super().commit_episode(item, commit)
        fired = [m for m in commit.messages if m.event["EventType"] == EventType.TimerFired]
        if fired and self.client is not None:
            await self.client.raise_event(item.instance_id, "Ping", '"late"')


def test_the_code_resumes_on_the_event_that_completes_its_task_before_the_rest_of_the_batch():
    # The batch is [TimerFired, EventRaised]: the SDK resumes the generator on the TimerFired, so the timer
    # wins although the event is in the same batch, and the wait has not been handed the event yet. The
    # event is in `context.histories` already (orchestrators/batch.py reads it there).
    store = PingBehindTheTimer()
    with DurableHarness(_app(), store=store) as h:
        store.client = h.client
        iid = h.start_new("resumed_before_the_rest_of_its_batch", None, "pin")
        status = h.wait_for_completion(iid, max_time=MINUTE)
    assert status.output == {
        "winner": "timer",
        "event_handed_over": False,
        "batch": [EventType.TimerFired, EventType.EventRaised],
    }
