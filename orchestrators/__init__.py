"""Durable orchestrators: `booking` (one per booking), `trip` and `undo_trip` (one per trip), and
`late_payment_refund` (money that arrived for a booking that can no longer take it).

`bp` holds them all; function_app.py registers it.
"""

from orchestrators import booking, late_payment_refund, trip, undo_trip  # noqa: F401  (registers on bp)
from orchestrators._blueprint import bp

__all__ = ["bp", "booking", "late_payment_refund", "trip", "undo_trip"]
