"""activities.scope: the booking, trip and instance an order's ids name, and nothing else of the order."""

from __future__ import annotations

from activities.scope import order_scope
from booking.activity_io import CheckPaymentOrder, ExpenseOrder, UndoOrder

BOOKING = "bk_" + "a" * 32


class _Keyed:
    def __init__(self, key: str) -> None:
        self.idempotency_key = key


def test_a_trip_step_key_names_the_booking_the_trip_and_the_trip_orchestration() -> None:
    assert order_scope(_Keyed(f"{BOOKING}:trip:3:flight")) == {
        "booking_id": BOOKING,
        "trip": 3,
        "instance_id": f"{BOOKING}:trip:3",
    }


def test_a_booking_level_key_names_the_booking_orchestration() -> None:
    for key in (f"{BOOKING}:payment", f"{BOOKING}:expenses"):
        assert order_scope(_Keyed(key)) == {"booking_id": BOOKING, "instance_id": BOOKING}


def test_orders_that_name_no_booking_give_none() -> None:
    assert order_scope(UndoOrder(reference="T-1")) == {}
    assert order_scope(CheckPaymentOrder(payment_id="pay_1")) == {}
    assert order_scope(_Keyed("refund:pay_1")) == {}
    assert order_scope(_Keyed("not-a-booking:trip:1:ticket")) == {}


def test_a_booking_id_field_is_used_when_the_key_does_not_name_it() -> None:
    order = ExpenseOrder.model_construct(idempotency_key="custom", booking_id=BOOKING)
    assert order_scope(order) == {"booking_id": BOOKING}
