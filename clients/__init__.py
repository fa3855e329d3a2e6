"""HTTP client functions: the booking API, the payment webhook, health and the OpenAPI document.

Exports `bp`, the blueprint that function_app.py registers; importing the endpoint modules below
is what registers their functions on it.
"""

from clients import bookings, health, listing, openapi, timeline, webhooks  # noqa: F401  (registers on bp)
from clients.blueprint import bp

__all__ = ["bp"]
