"""A small in-memory supplier world for orchestrator tests: stand-in activities registered by name.

Each stand-in behaves like the sandbox scenario it imitates (flaky, no route, sold out, declined...)
and records what it did, so tests can assert what was booked, undone, paid and refunded.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar, cast

import azure.durable_functions as df

import activities
import orchestrators
from booking import (
    Activity,
    BookingInput,
    BookingRequest,
    CancelPaymentOrder,
    CheckPaymentOrder,
    Conference,
    ExpenseOrder,
    ExpenseReported,
    Failure,
    FailureCode,
    HotelBooking,
    HotelOrder,
    HotelOutcome,
    Leg,
    Money,
    OrchestrationSettings,
    PaymentOrder,
    PaymentState,
    RefundOrder,
    RefundOutcome,
    RetryPolicy,
    TicketBooking,
    TicketOrder,
    TicketOutcome,
    TravelBooking,
    TravelMode,
    TravelOrder,
    TravelOutcome,
    UndoOrder,
    UndoOutcome,
    total_of,
)
from booking.activity_io import BookingPayments, ListPaymentsOrder
from booking.circuit import CircuitPolicy
from booking.errors import TransientSupplierError
from devhost.history import EventType, parse_ts
from devhost.testing import DurableHarness

CONFERENCES = {
    "serverlessdays-amsterdam-2027": ("Amsterdam", "AMS", dt.date(2027, 6, 3), dt.date(2027, 6, 4), "249.00"),
    "europython-prague-2027": ("Prague", "PRG", dt.date(2027, 7, 12), dt.date(2027, 7, 18), "650.00"),
    "ndc-oslo-2027": ("Oslo", "OSL", dt.date(2027, 5, 24), dt.date(2027, 5, 28), "1490.00"),
}
B = TypeVar("B")

FLIGHT_PRICE = Decimal("189.00")
TRAIN_PRICE = Decimal("99.00")
NIGHT_PRICE = Decimal("145.00")


def money(amount: Decimal | str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def make_app() -> df.DFApp:
    """The app's real orchestrators and activities; each test replaces the activities by name."""
    app = df.DFApp()
    app.register_functions(orchestrators.bp)
    app.register_functions(activities.bp)
    return app


def booking_input(
    trips: list[dict[str, Any]] | None = None,
    *,
    booking_id: str = "b-1",
    email: str = "ada@example.com",
    retry: RetryPolicy | None = None,
    circuit: CircuitPolicy | None = None,
    timeout_seconds: int = 900,
) -> dict[str, Any]:
    request = BookingRequest.model_validate(
        {
            "traveller": {"name": "Ada Lovelace", "email": email},
            "trips": trips or [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}],
            "currency": "EUR",
        }
    )
    return BookingInput(
        booking_id=booking_id,
        request=request,
        settings=OrchestrationSettings(
            retry=retry
            or RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=60_000, max_attempts=5),
            circuit=circuit or CircuitPolicy(),
            payment_timeout_seconds=timeout_seconds,
            payment_callback_url="http://127.0.0.1:7071/api/webhooks/payments",
        ),
        fingerprint=request.fingerprint(),
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    ).to_wire()


@dataclass
class Suppliers:
    """Scenario knobs, and a record of every supplier booking (reference → kind, status, key)."""

    flight_503s: int = 0  # 503s per flight booking attempt series before it books (+flaky: 2)
    flight_429_after: dt.timedelta | None = None  # first flight attempt answers 429 with this Retry-After
    airline_down: bool = False
    airline_refuses: bool = False  # every flight attempt: connection refused (provably not sent)
    # Per kind (ticket, train, hotel): how many of the next calls, whichever booking makes them, answer
    # 503 (an outage that ends); `down` kinds answer 503 until removed.
    outage: Counter[str] = field(default_factory=Counter)
    down: set[str] = field(default_factory=set)
    # Per kind (ticket, flight, train, hotel): how many attempts book, then lose the answer (a read
    # timeout: the activity fails with the outcome-unknown marker while the booking is real).
    lost_answers: Counter[str] = field(default_factory=Counter)
    no_flight_from: set[str] = field(default_factory=set)
    no_train_from: set[str] = field(default_factory=set)
    sold_out_cities: set[str] = field(default_factory=set)
    undo_503s: int = 0  # each undo fails this many times first
    payment_down: bool = False  # the provider answers every payment request with 503
    payment_status: str = "pending"  # what the provider says on check
    paid_amount: Decimal | None = None  # provider's amount (default: the requested total)
    # Other payments the provider holds for the booking (a stray that took money): id -> status.
    stray_payments: dict[str, str] = field(default_factory=dict)

    # Activity name -> something that happens while that activity is at the supplier (once, on the
    # first call): the activity answers only after it, as a real supplier call would.
    meanwhile: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)

    bookings: dict[str, SupplierBooking] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    sequence: list[str] = field(default_factory=list)  # every activity call, in order
    orders: list[tuple[str, Any]] = field(default_factory=list)  # (activity, its input), in order
    undo_order: list[str] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    expenses: list[dict[str, Any]] = field(default_factory=list)
    _failures: Counter[str] = field(default_factory=Counter)

    def install(self, harness: DurableHarness) -> None:
        for name, fake in {
            Activity.BOOK_TICKET: self.book_ticket,
            Activity.BOOK_FLIGHT: self.book_flight,
            Activity.BOOK_TRAIN: self.book_train,
            Activity.BOOK_HOTEL: self.book_hotel,
            Activity.UNDO_TICKET: self.undo,
            Activity.UNDO_FLIGHT: self.undo,
            Activity.UNDO_TRAIN: self.undo,
            Activity.UNDO_HOTEL: self.undo,
            Activity.REQUEST_PAYMENT: self.request_payment,
            Activity.CHECK_PAYMENT: self.check_payment,
            Activity.LIST_PAYMENTS: self.list_payments,
            Activity.CANCEL_PAYMENT: self.cancel_payment,
            Activity.REFUND_PAYMENT: self.refund_payment,
            Activity.REPORT_EXPENSES: self.report_expenses,
        }.items():
            harness.replace_activity(name, self._counted(name, fake))

    def _counted(self, name: str, fake: Any) -> Any:
        async def call(order: Any) -> Any:
            self.calls[name] += 1
            self.sequence.append(name)
            self.orders.append((name, order))
            happening = self.meanwhile.pop(name, None)
            if happening is not None:
                await happening()
            return fake(order)

        return call

    # --- what tests assert on ------------------------------------------------------------------
    def active(self) -> list[str]:
        return [ref for ref, b in self.bookings.items() if b.status == "active"]

    def kinds(self, status: str = "active") -> list[str]:
        return sorted(b.kind for b in self.bookings.values() if b.status == status)

    # --- supplier stand-ins: they answer the activities' own outcome models ---------------------
    def _book(self, kind: str, key: str, make: Callable[[str], B]) -> B:
        for b in self.bookings.values():  # idempotent: the same key books once
            if b.key == key:  # booked under this key by this same `make`: the same model comes back
                return self._answer(kind, cast(B, b.booked))
        ref = f"{kind[:2].upper()}-{len(self.bookings) + 1}"
        booked = make(ref)
        self.bookings[ref] = SupplierBooking(kind=kind, key=key, booked=booked)
        return self._answer(kind, booked)

    def _answer(self, kind: str, booked: B) -> B:
        if self.lost_answers[kind] > 0:
            self.lost_answers[kind] -= 1
            raise TransientSupplierError(kind, "POST /bookings timed out (ReadTimeout)", outcome_unknown=True)
        return booked

    def _outage(self, kind: str) -> None:
        if kind in self.down or self.outage[kind] > 0:
            self.outage[kind] = max(self.outage[kind] - 1, 0)
            raise TransientSupplierError(kind, "503 unavailable")

    def book_ticket(self, wire: Any) -> dict[str, Any]:
        self._outage("ticket")
        order = TicketOrder.from_wire(wire)
        conference = CONFERENCES.get(order.conference_id)
        if conference is None:
            return TicketOutcome(
                failure=failure(FailureCode.CONFERENCE_NOT_FOUND, "no such conference")
            ).to_wire()
        city, airport, start, end, price = conference
        booked = Conference(
            conference_id=order.conference_id,
            name=order.conference_id,
            city=city,
            airport=airport,
            start_date=start,
            end_date=end,
        )
        ticket = self._book(
            "ticket",
            order.idempotency_key,
            lambda ref: TicketBooking(reference=ref, price=money(price), conference=booked),
        )
        return TicketOutcome(booking=ticket).to_wire()

    def _travel(self, mode: TravelMode, order: TravelOrder, price: Decimal) -> dict[str, Any]:
        def leg(day: dt.date, src: str, dst: str) -> Leg:
            return Leg.model_validate(
                {
                    "number": f"{mode.value[:2].upper()} 1",
                    "from": src,
                    "to": dst,
                    "departure": dt.datetime.combine(day, dt.time(7, 10), dt.UTC),
                    "arrival": dt.datetime.combine(day, dt.time(9, 35), dt.UTC),
                }
            )

        def travel(ref: str) -> TravelBooking:
            return TravelBooking.model_validate(
                {
                    "mode": mode,
                    "reference": ref,
                    "outbound": leg(order.outbound_date, order.origin, order.destination),
                    "return": leg(order.return_date, order.destination, order.origin),
                    "price": money(price),
                }
            )

        return TravelOutcome(booking=self._book(mode.value, order.idempotency_key, travel)).to_wire()

    def book_flight(self, wire: Any) -> dict[str, Any]:
        order = TravelOrder.from_wire(wire)
        key = order.idempotency_key
        if self.flight_429_after is not None and self._failures[key + ":429"] == 0:
            self._failures[key + ":429"] += 1
            raise TransientSupplierError("airline", "429 rate_limited", retry_after=self.flight_429_after)
        if self.airline_refuses:
            raise TransientSupplierError("airline", "POST /bookings failed: ConnectError")
        if self.airline_down or self._failures[key] < self.flight_503s:
            self._failures[key] += 1
            raise TransientSupplierError("airline", "503 unavailable")
        if order.origin in self.no_flight_from:
            return TravelOutcome(failure=failure(FailureCode.NO_TRAVEL_ROUTE, "no flight")).to_wire()
        return self._travel(TravelMode.FLIGHT, order, FLIGHT_PRICE)

    def book_train(self, wire: Any) -> dict[str, Any]:
        self._outage("train")
        order = TravelOrder.from_wire(wire)
        if order.origin in self.no_train_from:
            return TravelOutcome(failure=failure(FailureCode.NO_TRAVEL_ROUTE, "no train")).to_wire()
        return self._travel(TravelMode.TRAIN, order, TRAIN_PRICE)

    def book_hotel(self, wire: Any) -> dict[str, Any]:
        self._outage("hotel")
        order = HotelOrder.from_wire(wire)
        if order.city in self.sold_out_cities:
            return HotelOutcome(failure=failure(FailureCode.HOTEL_UNAVAILABLE, "sold out")).to_wire()
        nights = (order.check_out - order.check_in).days
        hotel = self._book(
            "hotel",
            order.idempotency_key,
            lambda ref: HotelBooking(
                reference=ref,
                hotel_name=f"Hotel {order.city}",
                check_in=order.check_in,
                check_out=order.check_out,
                price=money(NIGHT_PRICE * nights),
            ),
        )
        return HotelOutcome(booking=hotel).to_wire()

    def undo(self, wire: Any) -> dict[str, Any]:
        ref = UndoOrder.from_wire(wire).reference
        if self._failures["undo:" + ref] < self.undo_503s:
            self._failures["undo:" + ref] += 1
            raise TransientSupplierError("supplier", "503 unavailable")
        booking = self.bookings.get(ref)
        if booking is None:
            return UndoOutcome(reference=ref, found=False).to_wire()
        if booking.status == "active":
            self.undo_order.append(booking.kind)
        booking.status = "undone"
        return UndoOutcome(reference=ref, found=True).to_wire()

    def request_payment(self, wire: Any) -> dict[str, Any]:
        if self.payment_down:
            raise TransientSupplierError("payment", "503 unavailable")
        order = PaymentOrder.from_wire(wire)
        if not self.payments or self.payments[-1]["key"] != order.idempotency_key:
            self.payments.append({"key": order.idempotency_key, "amount": wire["amount"], "id": "pay_1"})
        return self._payment_state().to_wire()

    def _payment_state(self) -> PaymentState:
        requested = Money.from_wire(self.payments[-1]["amount"])
        amount = requested if self.paid_amount is None else money(self.paid_amount)
        return payment_state("pay_1", self.payment_status, amount, "http://sandbox/payment/checkout/pay_1")

    def check_payment(self, wire: Any) -> dict[str, Any]:
        assert CheckPaymentOrder.from_wire(wire).payment_id == "pay_1"
        return self._payment_state().to_wire()

    def cancel_payment(self, wire: Any) -> dict[str, Any]:
        assert CancelPaymentOrder.from_wire(wire).payment_id == "pay_1"
        if self.payment_status == "pending":
            self.payment_status = "cancelled"
        return self._payment_state().to_wire()

    def list_payments(self, wire: Any) -> dict[str, Any]:
        ListPaymentsOrder.from_wire(wire)
        own = [self._payment_state()] if self.payments else []
        strays = [payment_state(pid, status, money("5.00")) for pid, status in self.stray_payments.items()]
        return BookingPayments(payments=own + strays).to_wire()

    def refund_payment(self, wire: Any) -> dict[str, Any]:
        self.refunds.append(wire)
        payment_id = RefundOrder.from_wire(wire).payment_id
        if payment_id == "pay_1":
            refundable = self.payment_status == "succeeded"
            if refundable:
                self.payment_status = "refunded"
        else:  # a stray: money only if the provider made it; one it never made has nothing to give back
            refundable = self.stray_payments.get(payment_id) == "succeeded"
            if refundable:
                self.stray_payments[payment_id] = "refunded"
        return RefundOutcome(payment_id=payment_id, refunded=refundable).to_wire()

    def report_expenses(self, wire: Any) -> dict[str, Any]:
        self.expenses.append(wire)
        order = ExpenseOrder.from_wire(wire)
        return ExpenseReported(
            reference="EX-1", total=total_of((line.price for line in order.lines), "EUR")
        ).to_wire()


@dataclass
class SupplierBooking:
    """One booking a stand-in supplier holds: its kind (ticket, flight, train, hotel), the idempotency
    key it was made under, whether it is still active, and what the activity answered."""

    kind: str
    key: str
    booked: Any
    status: str = "active"


def failure(code: FailureCode, message: str) -> Failure:
    return Failure(code=code, message=message)


def payment_state(
    payment_id: str, status: str, amount: Money, checkout_url: str | None = None
) -> PaymentState:
    # `status` is the provider's word for it (a scenario knob): the model checks it is one it knows.
    return PaymentState.model_validate(
        {"payment_id": payment_id, "status": status, "amount": amount, "checkout_url": checkout_url}
    )


def payment_event(
    webhook_id: str = "msg_1", payment_id: str = "pay_1", amount: str = "0", reason: str | None = None
) -> dict[str, Any]:
    event = {"webhookId": webhook_id, "paymentId": payment_id, "amount": amount, "currency": "EUR"}
    if reason:
        event["reason"] = reason
    return event


def timer_delays(history: list[dict[str, Any]]) -> list[dt.timedelta]:
    """For each TimerCreated: FireAt minus the time of the episode that created it."""
    delays = []
    episode_time = None
    for event in history:
        if event["EventType"] == EventType.OrchestratorStarted:
            episode_time = parse_ts(event["Timestamp"])
        elif event["EventType"] == EventType.TimerCreated:
            assert episode_time is not None
            delays.append(parse_ts(event["FireAt"]) - episode_time)
    return delays
