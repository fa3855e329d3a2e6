"""Trips of version 2.0 and the supplier circuit breaker (`supplier_circuit` entity) through devhost's
harness, with time skipping: every transition as trips see it, and every decision a trip takes on it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from booking import (
    Activity,
    FailureCode,
    RetryPolicy,
    Traveller,
    TravelMode,
    TripInput,
    TripRequest,
    TripStatus,
    TripView,
)
from booking.circuit import CircuitPolicy, CircuitState, CircuitStatus
from clients.timeline import entries_of
from devhost.history import EventType, RuntimeStatus
from devhost.http.status import history_events
from devhost.testing import DurableHarness
from tests.orchestrators.booking_run import BOOKING_ID, cancel, finish, pay, start, status_of
from tests.orchestrators.world import Suppliers

POLICY = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=8000, max_attempts=5)
CIRCUIT = CircuitPolicy(failure_threshold=3, window_seconds=60, cooldown_seconds=30)
COOL_DOWN = dt.timedelta(seconds=CIRCUIT.cooldown_seconds)


def trip_input(booking: str, origin: str = "BER", hotel: bool = True) -> dict[str, Any]:
    return TripInput(
        booking_id=booking,
        index=0,
        trip=TripRequest(conference_id="serverlessdays-amsterdam-2027", origin=origin, hotel=hotel),
        traveller=Traveller(name="Ada", email="ada@example.com"),
        retry=POLICY,
        circuit=CIRCUIT,
    ).to_wire()


def start_trip(harness: DurableHarness, booking: str, **kwargs: Any) -> str:
    return harness.start_new("trip", trip_input(booking, **kwargs), f"{booking}:trip:0")


def run_trip(harness: DurableHarness, booking: str, **kwargs: Any) -> TripView:
    iid = start_trip(harness, booking, **kwargs)
    status = harness.wait_for_completion(iid)
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    return status.output_as(TripView)


def circuit(harness: DurableHarness, supplier: str) -> CircuitState:
    status = harness.get_status(f"@supplier_circuit@{supplier}")
    if status is None:
        return CircuitState()
    return CircuitState.load(json.loads(status.input["state"]))


def entity_ops(harness: DurableHarness, iid: str) -> list[tuple[str, str, bool]]:
    """(supplier, operation, is a signal) of every entity message the orchestration sent, in order."""
    sent = [e for e in harness.history(iid) if e["EventType"] == EventType.EventSent]
    requests = [(e["InstanceId"].split("@")[2], json.loads(e["Input"])) for e in sent]
    return [(supplier, r["op"], bool(r.get("signal"))) for supplier, r in requests]


def open_airline(harness: DurableHarness, suppliers: Suppliers) -> None:
    """One trip against an airline that is down: its failures open the circuit, then it takes the train."""
    suppliers.airline_down = True
    trip = run_trip(harness, "b-opener")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert circuit(harness, "airline").status is CircuitStatus.OPEN


def test_the_happy_path_asks_each_circuit_once_and_reports_nothing(world_v2):
    harness, suppliers = world_v2
    trip = run_trip(harness, "b-1")
    assert trip.status is TripStatus.BOOKED
    # A closed circuit with no failures: one call per step, no report (nothing it could change).
    assert entity_ops(harness, "b-1:trip:0") == [
        ("conference", "ask", False),
        ("airline", "ask", False),
        ("hotel", "ask", False),
    ]


def test_failures_open_the_airline_circuit_and_the_trip_takes_the_train_without_a_last_backoff(world_v2):
    harness, suppliers = world_v2
    suppliers.airline_down = True
    started = harness.now
    trip = run_trip(harness, "b-1")

    assert trip.status is TripStatus.BOOKED and trip.travel is not None
    assert trip.travel.mode is TravelMode.TRAIN
    # Threshold 3 of 5 attempts: the third failure opened the circuit and its answer sent the trip to the
    # train at once: two backoffs (1 s, 2 s) instead of four (1+2+4+8 s).
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 3
    assert harness.now - started < dt.timedelta(seconds=4)
    state = circuit(harness, "airline")
    assert state.status is CircuitStatus.OPEN and len(state.failures) == 3
    ops = [op for supplier, op, _ in entity_ops(harness, "b-1:trip:0") if supplier == "airline"]
    # Failures are calls: the answer to the one that opened the circuit sent the trip on to the train.
    assert ops == ["ask", "report", "ask", "report", "ask", "report"]
    # Each failure's report went with a peek at the rail's circuit; the last found it closed, so the
    # train was called without asking (one round trip less), and the rail's circuit is as it was.
    assert [op for supplier, op, _ in entity_ops(harness, "b-1:trip:0") if supplier == "rail"] == ["peek"] * 3
    assert circuit(harness, "rail") == CircuitState()
    # The timeline reads the skip from the report's answer, the peeks are not events of the booking.
    kinds = [(e["type"], e.get("supplier") or e.get("step")) for e in timeline_of(harness, "b-1:trip:0")]
    flight = [("supplier_call", "book_flight"), ("retry", "book_flight")]
    assert kinds == [
        ("started", None),
        ("supplier_call", "book_ticket"),
        *flight,
        *flight,
        ("supplier_call", "book_flight"),
        ("circuit_open", "airline"),
        ("fallback", "book_train"),
        ("supplier_call", "book_hotel"),
        ("completed", None),
    ]
    assert not [e for e in timeline_of(harness, "b-1:trip:0") if e["type"] == "event"]


def test_with_the_airline_circuit_open_a_trip_goes_by_train_at_once(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    flights_before = suppliers.calls[Activity.BOOK_FLIGHT]

    trip = run_trip(harness, "b-2")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert suppliers.calls[Activity.BOOK_FLIGHT] == flights_before  # the airline was not called
    history = harness.history("b-2:trip:0")
    assert not [e for e in history if e["EventType"] == EventType.TimerCreated]  # nothing waited for
    assert ("airline", "report", False) not in entity_ops(harness, "b-2:trip:0")


def test_after_the_cool_down_the_next_trip_probes_and_flies_and_the_circuit_closes(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    suppliers.airline_down = False
    harness.advance(COOL_DOWN)

    trip = run_trip(harness, "b-2")
    assert trip.travel is not None and trip.travel.mode is TravelMode.FLIGHT
    assert circuit(harness, "airline") == CircuitState()
    # The probe's success is a signal: nothing to wait for.
    assert ("airline", "report", True) in entity_ops(harness, "b-2:trip:0")


def test_a_failed_probe_opens_the_circuit_again_and_that_trip_takes_the_train(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    opened = circuit(harness, "airline").opened_at
    assert opened is not None
    harness.advance(COOL_DOWN)
    flights_before = suppliers.calls[Activity.BOOK_FLIGHT]

    trip = run_trip(harness, "b-2")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert suppliers.calls[Activity.BOOK_FLIGHT] == flights_before + 1  # the one probe
    state = circuit(harness, "airline")
    assert state.status is CircuitStatus.OPEN and state.opened_at is not None
    assert state.opened_at > opened and state.probe_at == state.opened_at + COOL_DOWN


def test_half_open_lets_one_trip_probe_while_the_others_take_the_train(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    suppliers.airline_down = False
    harness.advance(COOL_DOWN)
    flights_before = suppliers.calls[Activity.BOOK_FLIGHT]

    trips = [start_trip(harness, f"b-{n}") for n in range(2, 6)]
    views = [harness.wait_for_completion(iid).output_as(TripView) for iid in trips]
    modes = sorted(v.travel.mode.value for v in views if v.travel is not None)
    assert suppliers.calls[Activity.BOOK_FLIGHT] == flights_before + 1
    assert modes == ["flight", "train", "train", "train"]
    assert circuit(harness, "airline").status is CircuitStatus.CLOSED


def test_business_outcomes_never_count_as_failures(world_v2):
    harness, suppliers = world_v2
    suppliers.no_flight_from.add("BER")
    suppliers.sold_out_cities.add("Amsterdam")
    for n in range(5):
        trip = run_trip(harness, f"b-{n}")
        assert trip.failure is not None and trip.failure.code is FailureCode.HOTEL_UNAVAILABLE
    for supplier in ("airline", "hotel"):
        assert circuit(harness, supplier) == CircuitState()
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 5


def open_hotel(harness: DurableHarness, suppliers: Suppliers) -> None:
    """Three trips whose hotel call fails once each (interleaved, so each retries): the circuit opens."""
    suppliers.outage["hotel"] = 3
    for n in range(3):
        start_trip(harness, f"b-o{n}")
    harness.run_until(lambda: circuit(harness, "hotel").status is CircuitStatus.OPEN)


def test_with_the_hotel_circuit_open_a_trip_waits_for_the_probe_time_instead_of_calling(world_v2):
    harness, suppliers = world_v2
    open_hotel(harness, suppliers)
    probe_at = circuit(harness, "hotel").probe_at
    hotels_before = suppliers.calls[Activity.BOOK_HOTEL]
    assert probe_at is not None

    iid = start_trip(harness, "b-1")
    harness.run_until_idle()
    # Waiting on a durable timer until the probe time; the hotel was not called.
    assert suppliers.calls[Activity.BOOK_HOTEL] == hotels_before
    timers = [e for e in harness.history(iid) if e["EventType"] == EventType.TimerCreated]
    fire_at = probe_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert [e["FireAt"] for e in timers] == [fire_at]

    view = harness.wait_for_completion(iid).output_as(TripView)
    assert view.status is TripStatus.BOOKED and view.hotel is not None
    assert circuit(harness, "hotel").status is CircuitStatus.CLOSED
    # Every trip booked its hotel in the end: the outage was 3 calls, the openers waited for the probe.
    for n in range(3):
        assert harness.wait_for_completion(f"b-o{n}:trip:0").output_as(TripView).status is TripStatus.BOOKED


def test_a_cancel_ends_a_wait_for_the_circuit_at_once_and_the_undo_is_not_held_up(world_v2):
    harness, suppliers = world_v2
    suppliers.down.add("hotel")
    start(harness, retry=POLICY, circuit=CIRCUIT)  # a whole booking: b-1 with one trip
    harness.run_until(lambda: circuit(harness, "hotel").status is CircuitStatus.OPEN)
    harness.run_until_idle()
    hotels = suppliers.calls[Activity.BOOK_HOTEL]
    before = harness.now

    cancel(harness)
    harness.run_until_idle()
    trip = harness.get_status(f"{BOOKING_ID}:trip:0")
    assert trip is not None and trip.runtime_status is RuntimeStatus.Completed
    assert trip.output_as(TripView).status is TripStatus.UNDONE
    assert status_of(harness).output["status"] == "Cancelled"
    assert harness.now - before < dt.timedelta(seconds=1)  # no time skipped: the wait ended at once
    assert suppliers.calls[Activity.BOOK_HOTEL] == hotels
    assert suppliers.active() == [] and sorted(suppliers.undo_order) == ["flight", "ticket"]


def test_undo_is_never_skipped_while_its_suppliers_circuit_is_open(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    # Book a flight past the open circuit (it closes on a probe), then open it again while the trip's
    # hotel is sold out: the flight's undo goes to the airline whatever its circuit says.
    suppliers.airline_down = False
    harness.advance(COOL_DOWN)
    suppliers.sold_out_cities.add("Amsterdam")
    suppliers.undo_503s = 1

    trip = run_trip(harness, "b-2")
    assert trip.failure is not None and trip.failure.code is FailureCode.HOTEL_UNAVAILABLE
    assert "flight" in suppliers.undo_order
    assert [b for b in suppliers.bookings.values() if b.key.startswith("b-2") and b.status == "active"] == []
    undo_asks = [op for s, op, _ in entity_ops(harness, "b-2:trip:0")]
    assert undo_asks.count("ask") == 3  # ticket, flight, hotel: the undos asked nothing


def test_a_probe_holder_that_never_reports_does_not_keep_the_circuit_half_open(world_v2):
    """The probe's trip is terminated while its hotel call is at the supplier (a kill that never comes
    back to report): the next trip waits at most the probe's lease, then probes itself."""
    harness, suppliers = world_v2
    suppliers.down.add("hotel")
    open_hotel(harness, suppliers)
    for n in range(3):  # the openers are not part of this story
        harness.terminate(f"b-o{n}:trip:0", "out of the way")
    suppliers.down.discard("hotel")
    probe_at = circuit(harness, "hotel").probe_at
    assert probe_at is not None
    harness.advance(probe_at - harness.now)

    async def killed() -> None:
        await harness.client.terminate("b-p:trip:0", "killed while probing")

    suppliers.meanwhile[Activity.BOOK_HOTEL] = killed
    start_trip(harness, "b-p")
    harness.run_until(lambda: harness.get_status("b-p:trip:0").runtime_status is RuntimeStatus.Terminated)
    lease = circuit(harness, "hotel")
    assert lease.status is CircuitStatus.HALF_OPEN and lease.probe_at is not None

    view = run_trip(harness, "b-2")
    assert view.status is TripStatus.BOOKED
    assert harness.now >= lease.probe_at  # it waited for the lease to end, then probed
    assert circuit(harness, "hotel").status is CircuitStatus.CLOSED


def test_a_whole_booking_under_2_0_snapshots_the_policy_into_its_trips(world_v2):
    harness, suppliers = world_v2
    start(harness)
    harness.run_until(lambda: harness.get_status(f"{BOOKING_ID}:trip:0") is not None)
    trip = harness.get_status(f"{BOOKING_ID}:trip:0")
    assert trip is not None and trip.version == "2.0"
    assert TripInput.from_wire(trip.input).circuit == CircuitPolicy()
    harness.run_until(lambda: (status_of(harness).custom_status or {}).get("status") == "AwaitingPayment")
    pay(harness, suppliers)
    assert finish(harness).status == "Confirmed"


def test_trips_before_2_0_never_ask_a_circuit(world):
    harness, suppliers = world
    suppliers.airline_down = True
    trip = run_trip(harness, "b-1")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert suppliers.calls[Activity.BOOK_FLIGHT] == POLICY.max_attempts  # the old path: every attempt
    assert entity_ops(harness, "b-1:trip:0") == []
    assert harness.get_status("@supplier_circuit@airline") is None


def timeline_of(harness: DurableHarness, iid: str) -> list[dict[str, Any]]:
    """The trip's timeline entries as the events endpoint builds them from the status API's history."""
    return entries_of("trip[0]", history_events(harness.history(iid), True))


def test_the_timeline_says_the_flight_was_skipped_for_an_open_circuit(world_v2):
    harness, suppliers = world_v2
    open_airline(harness, suppliers)
    run_trip(harness, "b-2")
    kinds = [(e["type"], e.get("supplier") or e.get("step")) for e in timeline_of(harness, "b-2:trip:0")]
    assert kinds == [
        ("started", None),
        ("supplier_call", "book_ticket"),
        ("circuit_open", "airline"),
        ("fallback", "book_train"),
        ("supplier_call", "book_hotel"),
        ("completed", None),
    ]
    # The entity's answers are bookkeeping, not events of the booking.
    assert not [e for e in timeline_of(harness, "b-2:trip:0") if e["type"] == "event"]


def test_the_timeline_says_when_a_step_waited_for_the_circuit(world_v2):
    harness, suppliers = world_v2
    open_hotel(harness, suppliers)
    probe_at = circuit(harness, "hotel").probe_at
    assert probe_at is not None
    iid = start_trip(harness, "b-1")
    harness.wait_for_completion(iid)
    waits = [e for e in timeline_of(harness, iid) if e["type"] == "circuit_wait"]
    # Until the probe time; then, while an opener's probe was under way, a short wait more.
    assert {e["supplier"] for e in waits} == {"hotel"}
    assert waits[0]["fireAt"] == probe_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    opener = [(e["type"], e.get("step") or e.get("supplier")) for e in timeline_of(harness, "b-o0:trip:0")]
    # An opener: its hotel call failed (a retry), then it waited for the probe like the others.
    assert ("supplier_call", "book_hotel") in opener
    assert not [e for e in timeline_of(harness, iid) if e["type"] == "retry"]


def test_a_step_that_spends_its_attempts_signals_its_last_failure_and_is_not_shown_skipped(world_v2):
    harness, suppliers = world_v2
    suppliers.airline_down = True
    patient = CircuitPolicy(failure_threshold=10, window_seconds=60, cooldown_seconds=30)
    iid = harness.start_new("trip", {**trip_input("b-1"), "circuit": patient.to_wire()}, "b-1:trip:0")
    trip = harness.wait_for_completion(iid).output_as(TripView)

    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert suppliers.calls[Activity.BOOK_FLIGHT] == POLICY.max_attempts  # the circuit never opened
    reports = [signal for supplier, op, signal in entity_ops(harness, iid) if op == "report"]
    assert reports == [False] * (POLICY.max_attempts - 1) + [True]
    kinds = [e["type"] for e in timeline_of(harness, iid)]
    assert "circuit_open" not in kinds and kinds.count("retry") == POLICY.max_attempts - 1
    assert "fallback" in kinds
    assert circuit(harness, "airline").recent_failures(harness.now, patient) == POLICY.max_attempts


def test_a_rail_circuit_that_is_not_closed_is_asked_before_the_train(world_v2):
    """The peek beside the airline's failure finds the rail's circuit open, cooled down: the peek leaves
    the probe alone, and the train asks for it (and, the rail being up, closes the circuit)."""
    harness, suppliers = world_v2
    suppliers.down.add("train")
    suppliers.airline_down = True
    open_airline_and_rail = run_trip(harness, "b-o")  # both fail: the trip fails, both circuits open
    assert open_airline_and_rail.status is TripStatus.FAILED
    assert circuit(harness, "rail").status is CircuitStatus.OPEN
    suppliers.down.discard("train")
    harness.advance(COOL_DOWN)
    # The airline's circuit is cooled down too: this trip's flight is its probe, fails, and the report
    # that opens it again goes with a peek that finds the rail open (the probe time passed): ask it.
    trip = run_trip(harness, "b-1")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    rail_ops = [op for supplier, op, _ in entity_ops(harness, "b-1:trip:0") if supplier == "rail"]
    assert rail_ops[:2] == ["peek", "ask"]
    assert circuit(harness, "rail").status is CircuitStatus.CLOSED


def test_after_a_reclaim_the_train_asks_the_rail_circuit_itself(world_v2):
    """The flight's third lost answer opens the airline's circuit and its peek finds the rail's closed, but
    the flight's possible booking is reclaimed and undone first (which may take long): the train asks."""
    harness, suppliers = world_v2
    suppliers.lost_answers["flight"] = CIRCUIT.failure_threshold
    trip = run_trip(harness, "b-1")
    assert trip.travel is not None and trip.travel.mode is TravelMode.TRAIN
    assert [b.kind for b in suppliers.bookings.values() if b.status == "undone"] == ["flight"]
    rail_ops = [op for supplier, op, _ in entity_ops(harness, "b-1:trip:0") if supplier == "rail"]
    assert rail_ops == ["peek"] * CIRCUIT.failure_threshold + ["ask"]
