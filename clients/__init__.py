"""HTTP client functions: the booking API, the suppliers' circuits, the payment webhook, health and the
OpenAPI document.

Exports `bp`, the blueprint that function_app.py registers; importing the endpoint modules below
is what registers their functions on it.
"""

from clients import (  # noqa: F401  (registers on bp)
    bookings,
    health,
    listing,
    openapi,
    suppliers,
    timeline,
    webhooks,
)
from clients.blueprint import bp

__all__ = ["bp"]
