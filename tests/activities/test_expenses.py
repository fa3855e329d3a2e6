"""report_expenses against the real sandbox: one report per key, all prices of the booking."""

from __future__ import annotations

import uuid

from activities import ACTIVITIES
from booking import ExpenseReported
from booking.activity_io import Activity
from tests.activities.conftest import traveller

report_expenses = ACTIVITIES[Activity.REPORT_EXPENSES]


async def test_files_one_report_per_key(suppliers_up, email):
    booking_id = f"b-{uuid.uuid4().hex[:8]}"
    order = {
        "idempotencyKey": f"{booking_id}:expenses",
        "bookingId": booking_id,
        "traveller": traveller(email),
        "lines": [
            {
                "category": "ticket",
                "description": "t",
                "reference": "CT-1",
                "price": {"amount": "249.00", "currency": "EUR"},
            },
            {
                "category": "flight",
                "description": "f",
                "reference": "FL-1",
                "price": {"amount": "189.00", "currency": "EUR"},
            },
        ],
    }
    first = ExpenseReported.model_validate(await report_expenses(order))
    again = ExpenseReported.model_validate(await report_expenses(order))
    assert first == again
    assert str(first.total) == "438.00 EUR"
    reports = (await suppliers_up.get("/_sandbox/expenses", params={"bookingId": booking_id})).json()
    assert len(reports) == 1
