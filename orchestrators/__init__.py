"""Durable orchestrators: `booking` (one per booking), `trip` and `undo_trip` (one per trip), and
`late_payment_refund` (money that arrived for a booking that can no longer take it); and the
`supplier_circuit` entity (one circuit breaker per supplier API, asked by trips of version 2.0 on).

`bp` holds them all; function_app.py registers it.
"""

from orchestrators import (  # noqa: F401  (registers on bp)
    booking,
    late_payment_refund,
    supplier_circuit,
    trip,
    undo_trip,
)
from orchestrators._blueprint import bp

__all__ = ["bp", "booking", "late_payment_refund", "supplier_circuit", "trip", "undo_trip"]
