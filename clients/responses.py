"""Successful responses: JSON bodies and the API's own links (never the runtime's management URLs)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from booking.settings import get_settings

API_PREFIX = "/api"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
    )


def origin(req: func.HttpRequest) -> str:
    """Where links point: `PUBLIC_BASE_URL` when it is set (behind a proxy or a custom domain, the
    request's own URL names the Host header a caller chose), else scheme://host[:port] of the request,
    whose Host the local host has checked is one of its own addresses."""
    settings = get_settings()
    if "public_base_url" in settings.model_fields_set:
        return str(settings.public_base_url).rstrip("/")
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def booking_links(req: func.HttpRequest, booking_id: str) -> dict[str, str]:
    base = f"{origin(req)}{API_PREFIX}/bookings/{booking_id}"
    return {"self": base, "cancel": f"{base}/cancel", "events": f"{base}/events"}
