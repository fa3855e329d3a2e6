"""Activities: one per supplier action, each idempotent (the key comes in its order) and each
answering a business outcome as a result, raising only for transient failures.

`bp` registers every activity under its durable name from `booking.Activity`; the functions stay
plain async callables, so tests call them directly.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import azure.durable_functions as df

from activities.expenses import report_expenses
from activities.hotel import book_hotel, undo_hotel
from activities.payment import (
    cancel_payment,
    check_payment,
    list_payments,
    refund_payment,
    request_payment,
)
from activities.ticket import book_ticket, undo_ticket
from activities.travel import book_flight, book_train, undo_flight, undo_train
from booking.activity_io import Activity

bp = df.Blueprint()

ACTIVITIES: dict[str, Callable[[Any], Awaitable[dict[str, Any]]]] = {
    Activity.BOOK_TICKET: book_ticket,
    Activity.UNDO_TICKET: undo_ticket,
    Activity.BOOK_FLIGHT: book_flight,
    Activity.UNDO_FLIGHT: undo_flight,
    Activity.BOOK_TRAIN: book_train,
    Activity.UNDO_TRAIN: undo_train,
    Activity.BOOK_HOTEL: book_hotel,
    Activity.UNDO_HOTEL: undo_hotel,
    Activity.REQUEST_PAYMENT: request_payment,
    Activity.CHECK_PAYMENT: check_payment,
    Activity.LIST_PAYMENTS: list_payments,
    Activity.CANCEL_PAYMENT: cancel_payment,
    Activity.REFUND_PAYMENT: refund_payment,
    Activity.REPORT_EXPENSES: report_expenses,
}

for _name, _function in ACTIVITIES.items():
    # The worker passes the input as the keyword named by the binding: every activity takes `order`.
    bp.activity_trigger(input_name="order", activity=_name)(_function)

__all__ = ["ACTIVITIES", "bp"]
