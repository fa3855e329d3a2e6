"""HTTP client functions: the booking API, the payment webhook, health and the OpenAPI document.

Exports `bp`, the blueprint that function_app.py registers; importing the submodules below is
what registers their functions on it.
"""

from clients.blueprint import bp

__all__ = ["bp"]
