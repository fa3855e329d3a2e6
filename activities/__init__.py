"""Activities: one per supplier action, each idempotent (the key comes in its order) and each
answering a business outcome as a result, raising only for transient failures.

`activity_functions` builds every activity over injected supplier clients; `ACTIVITIES` are the
production ones (clients from the settings), which `bp` registers under their durable names.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import bookings, expenses, payment
from activities.activity import ActivityFunction, Body, activity
from activities.clients import ClientsFor, SupplierClients
from booking.activity_io import (
    Activity,
    CancelPaymentOrder,
    CheckPaymentOrder,
    ExpenseOrder,
    HotelOrder,
    ListPaymentsOrder,
    PaymentOrder,
    RefundOrder,
    TicketOrder,
    TravelOrder,
    UndoOrder,
)
from booking.trip_steps import FLIGHT, HOTEL, SUPPLIER_STEPS, TICKET, TRAIN
from booking.wire import WireModel


def activity_functions(clients_for: ClientsFor) -> dict[Activity, ActivityFunction]:
    """Every activity by its durable name, over the clients `clients_for(patient)` gives."""
    bodies: list[tuple[Activity, type[WireModel], Body[Any]]] = [
        (TICKET.book, TicketOrder, bookings.book_ticket),
        (FLIGHT.book, TravelOrder, bookings.book_travel(FLIGHT)),
        (TRAIN.book, TravelOrder, bookings.book_travel(TRAIN)),
        (HOTEL.book, HotelOrder, bookings.book_hotel),
        *((step.undo, UndoOrder, bookings.undo(step)) for step in SUPPLIER_STEPS),
        (Activity.REQUEST_PAYMENT, PaymentOrder, payment.request_payment),
        (Activity.CHECK_PAYMENT, CheckPaymentOrder, payment.check_payment),
        (Activity.LIST_PAYMENTS, ListPaymentsOrder, payment.list_payments),
        (Activity.CANCEL_PAYMENT, CancelPaymentOrder, payment.cancel_payment),
        (Activity.REFUND_PAYMENT, RefundOrder, payment.refund_payment),
        (Activity.REPORT_EXPENSES, ExpenseOrder, expenses.report_expenses),
    ]
    return {name: activity(name, order_type, body, clients_for) for name, order_type, body in bodies}


ACTIVITIES = activity_functions(SupplierClients.from_settings)

bp = df.Blueprint()
for _name, _function in ACTIVITIES.items():
    # The worker passes the input as the keyword named by the binding: every activity takes `order`
    # (and `context`, which a function gets by declaring it: the invocation's trace).
    bp.activity_trigger(input_name="order", activity=_name)(_function)

__all__ = ["ACTIVITIES", "activity_functions", "bp"]
