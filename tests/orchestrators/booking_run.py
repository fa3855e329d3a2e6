"""Running one `booking` orchestration in the harness: start it, reach the payment wait, pay, finish."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from booking import CANCEL_REQUESTED, BookingView
from booking.orchestration import trip_instance_id
from devhost.engine.client import InstanceGoneError, InstanceNotFoundError
from devhost.history import HistoryEvent, RuntimeStatus
from devhost.store.base import EpisodeCommit, OrchestrationWorkItem
from devhost.store.memory import MemoryStore
from tests.orchestrators.world import booking_input, payment_event

BOOKING_ID = "b-1"
# A case that shows a defect kept on purpose: bookings started before the version that fixed it keep their
# path (README: changing an orchestrator safely), so the test must fail there, or the mark is stale.
KEPT_PATH = pytest.mark.xfail(strict=True, raises=AssertionError, reason="the path of bookings started then")
AMSTERDAM_TOTAL = Decimal("249.00") + Decimal("189.00") + 3 * Decimal("145.00")  # ticket, flight, 3 nights


def start(harness, **kwargs):
    return harness.start_new("booking", booking_input(booking_id=BOOKING_ID, **kwargs), BOOKING_ID)


def status_of(harness):
    return harness.get_status(BOOKING_ID)


def await_payment(harness):
    """Run until the booking waits for its payment; return its view then."""
    harness.run_until(lambda: (status_of(harness).custom_status or {}).get("status") == "AwaitingPayment")
    return status_of(harness).custom_status


def finish(harness):
    status = harness.wait_for_completion(BOOKING_ID)
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    # The output is the final view, and it is what the custom status shows too.
    assert status.custom_status == status.output
    return status.output_as(BookingView)


def pay(harness, suppliers, amount=None, webhook_id="msg_1"):
    suppliers.payment_status = "succeeded"
    paid = f"{amount if amount is not None else AMSTERDAM_TOTAL:.2f}"
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", payment_event(webhook_id, amount=paid))


def cancel_targets(trips: int) -> list[str]:
    """Where the edge raises a cancel: the booking first, then each of its trips."""
    return [BOOKING_ID, *(trip_instance_id(BOOKING_ID, index) for index in range(trips))]


def cancel(harness, trips=1, reason=None):
    """The traveller's cancel as the edge raises it (a trip not started yet or already ended is
    skipped, as the edge skips it)."""
    for target in cancel_targets(trips):
        try:
            harness.raise_event(target, CANCEL_REQUESTED, {} if reason is None else {"reason": reason})
        except (InstanceNotFoundError, InstanceGoneError):
            assert target != BOOKING_ID


def cancel_meanwhile(harness, trips=1):
    """The same cancel, for `Suppliers.meanwhile`: raised while an activity is at its supplier."""

    async def happen() -> None:
        for target in cancel_targets(trips):
            try:
                await harness.client.raise_event(target, CANCEL_REQUESTED, json.dumps(json.dumps({})))
            except (InstanceNotFoundError, InstanceGoneError):
                assert target != BOOKING_ID

    return happen


class CancelJoinsTheBatch(MemoryStore):
    """A task hub that raises the traveller's cancel right behind one chosen message to the booking, before
    the booking's next episode runs: the store hands all of an instance's pending messages to one episode in
    the order they came, so that episode's batch holds the chosen event and then the cancel (as in the
    chaos run where a cancel was accepted 143 ms after a timer fired, before the episode for it ran)."""

    def __init__(self, chosen: Callable[[HistoryEvent], bool]) -> None:
        super().__init__()
        self.chosen = chosen
        self.cancel: Callable[[], Awaitable[None]] | None = None
        self.raised = False

    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        await super().commit_episode(item, commit)
        joins = any(m.instance_id == BOOKING_ID and self.chosen(m.event) for m in commit.messages)
        if joins and not self.raised and self.cancel is not None:
            self.raised = True
            await self.cancel()
