"""`GET /api/openapi.json`: the API's OpenAPI 3.1 document, generated from the booking/ models.

Request bodies use the models' validation schemas, responses their serialization schemas (JSON
Schema 2020-12, which OpenAPI 3.1 adopts), so the document cannot drift from what the code accepts
and answers. The small edge-only shapes (202 bodies, problems, the webhook envelope) are here.
"""

import functools
from typing import Any

import azure.functions as func
from pydantic.json_schema import models_json_schema

from booking import BookingRequest, BookingResource, BookingStatus, CancelRequest
from clients.blueprint import endpoint
from clients.idempotency import KEY_PATTERN
from clients.responses import json_response
from clients.suppliers import SupplierList

_REF = "#/components/schemas/{model}"
_PROBLEM = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _edge_schemas() -> dict[str, Any]:
    link = {"type": "string", "format": "uri"}
    money_text = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1234.50"]}
    return {
        "BookingAccepted": {
            "type": "object",
            "required": ["bookingId", "status", "links"],
            "properties": {
                "bookingId": {"type": "string"},
                "status": _ref("BookingStatus"),
                "links": {
                    "type": "object",
                    "required": ["self", "cancel"],
                    "properties": {"self": link, "cancel": link, "events": link},
                },
            },
        },
        "CancelAccepted": {
            "type": "object",
            "required": ["bookingId", "status"],
            "properties": {"bookingId": {"type": "string"}, "status": {"const": "Cancelling"}},
        },
        "BookingList": {
            "type": "object",
            "required": ["bookings", "count"],
            "properties": {
                "bookings": {"type": "array", "items": _ref("BookingResource")},
                "count": {"type": "integer", "minimum": 0},
            },
        },
        "TimelineEntry": {
            "type": "object",
            "required": ["at", "scope", "type"],
            "properties": {
                "at": {"type": "string", "format": "date-time"},
                "scope": {"type": "string", "examples": ["booking", "trip[0]", "undo trip[0]"]},
                "type": {
                    "enum": [
                        "started",
                        "supplier_call",
                        "fallback",
                        "retry",
                        "circuit_open",
                        "circuit_wait",
                        "undo",
                        "payment",
                        "expenses",
                        "payment_event",
                        "event",
                        "timer",
                        "completed",
                        "terminated",
                    ]
                },
                "step": {"type": "string"},
                "outcome": {"type": "string"},
                "detail": {"type": "string"},
                "completedAt": {"type": "string", "format": "date-time"},
                "fireAt": {"type": "string", "format": "date-time"},
                "supplier": {
                    "type": "string",
                    "description": "circuit_open / circuit_wait: the supplier whose circuit was open",
                    "examples": ["airline"],
                },
            },
        },
        "PaymentWebhook": {
            "type": "object",
            "required": ["type", "data"],
            "properties": {
                "type": {"enum": ["payment.succeeded", "payment.failed"]},
                "data": {
                    "type": "object",
                    "required": ["paymentId", "bookingId", "amount", "currency"],
                    "properties": {
                        "paymentId": {"type": "string"},
                        "bookingId": {"type": "string"},
                        "amount": money_text,
                        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
        "WebhookReceived": {
            "type": "object",
            "required": ["received", "outcome"],
            "properties": {"received": {"const": True}, "outcome": {"type": "string"}},
        },
        "ApiIndex": {
            "type": "object",
            "required": ["title", "openapi", "routes"],
            "properties": {
                "title": {"type": "string"},
                "openapi": {"type": "string", "description": "path of the OpenAPI document"},
                "routes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["method", "path", "summary"],
                        "properties": {
                            "method": {"type": "string"},
                            "path": {"type": "string"},
                            "summary": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"enum": ["ok", "unavailable"]},
                "checks": {"type": "object", "additionalProperties": {"enum": ["ok", "unavailable"]}},
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string", "examples": ["trips[0].origin"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(model: str, *, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(model)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_PROBLEM: {"schema": _ref("Problem")}}}


_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before polling", "schema": {"type": "integer"}}
}
_BOOKING_ID = {
    "name": "bookingId",
    "in": "path",
    "required": True,
    "description": "bk_ and 32 lower-case hex digits; any other id is an unknown booking (404)",
    "schema": {"type": "string", "pattern": "^bk_[0-9a-f]{32}$", "examples": ["bk_" + "0" * 32]},
}


def _with_host_codes(responses: dict[str, Any], *, keyed: bool = True) -> dict[str, Any]:
    """Codes every operation behind the durable client can answer besides its own: the host's 401 for a
    missing or wrong function key, and 503 (with Retry-After) while the task hub cannot be reached."""
    extra: dict[str, Any] = {"503": {**_problem("storage or the management API unavailable; retry"),
                                     "headers": {"Retry-After": _RETRY_AFTER["Retry-After"]}}}
    if keyed:
        extra["401"] = {"description": "missing or wrong function key (answered by the host, no body)"}
    return {**responses, **extra}


def _paths() -> dict[str, Any]:
    not_found = _problem("unknown booking")
    return {
        "/api/bookings": {
            "post": {
                "operationId": "startBooking",
                "summary": "Validate and start a booking",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "1-255 visible ASCII characters, no comma; send it once "
                        "(repeated headers reach the app joined by commas and are refused with 400)",
                        "schema": {"type": "string", "pattern": f"^{KEY_PATTERN}$"},
                    }
                ],
                "requestBody": _body("BookingRequest", required=True),
                "responses": _with_host_codes({
                    "202": {
                        **_json(_ref("BookingAccepted"), "accepted (or the same key and body again)"),
                        "headers": {"Location": {"schema": {"type": "string"}}, **_RETRY_AFTER},
                    },
                    "400": _problem("malformed JSON, not application/json, or a bad Idempotency-Key header"),
                    "413": _problem("body over 64 KiB"),
                    "422": _problem("invalid fields (every one listed), or an Idempotency-Key reused"),
                }),
            },
            "get": {
                "operationId": "listBookings",
                "summary": "Recent bookings, newest first",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "description": "one status (case-insensitive); empty or several is a 400",
                        "schema": {"enum": [s.value for s in BookingStatus]},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                ],
                "responses": _with_host_codes(
                    {"200": _json(_ref("BookingList"), "bookings"), "400": _problem("bad query")}
                ),
            },
        },
        "/api/bookings/{bookingId}": {
            "get": {
                "operationId": "getBooking",
                "summary": "The booking as the traveller sees it",
                "parameters": [_BOOKING_ID],
                "responses": _with_host_codes({
                    "200": {**_json(_ref("BookingResource"), "the booking"), "headers": _RETRY_AFTER},
                    "404": not_found,
                }),
            }
        },
        "/api/bookings/{bookingId}/cancel": {
            "post": {
                "operationId": "cancelBooking",
                "summary": "Stop and undo a booking that is not final",
                "parameters": [_BOOKING_ID],
                "requestBody": _body("CancelRequest", required=False),
                "responses": _with_host_codes({
                    "202": _json(_ref("CancelAccepted"), "cancelling"),
                    "400": _problem("malformed JSON or not application/json"),
                    "404": not_found,
                    "409": _problem("the booking has already ended"),
                    "413": _problem("body over 64 KiB"),
                    "422": _problem("invalid fields: reason not a string (at most 500), or an unknown field"),
                }),
            }
        },
        "/api/bookings/{bookingId}/events": {
            "get": {
                "operationId": "getBookingEvents",
                "summary": "The booking's timeline: supplier calls, retries, fallbacks, undo, payment",
                "parameters": [_BOOKING_ID],
                "responses": _with_host_codes({
                    "200": _json({"type": "array", "items": _ref("TimelineEntry")}, "timeline"),
                    "404": not_found,
                }),
            }
        },
        "/api/suppliers": {
            "get": {
                "operationId": "listSuppliers",
                "summary": "Each supplier's circuit breaker: state, recent failures, next probe (operators)",
                "responses": _with_host_codes({"200": _json(_ref("SupplierList"), "the circuits")}),
            }
        },
        "/api/webhooks/payments": {
            "post": {
                "operationId": "paymentWebhook",
                "summary": "The payment provider reports a payment (Standard Webhooks signature)",
                "security": [],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                    for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
                ],
                "requestBody": _body("PaymentWebhook", required=True),
                "responses": _with_host_codes({
                    "200": _json(_ref("WebhookReceived"), "accepted, or a redelivery that changes nothing"),
                    "400": _problem("signature good, body malformed (not UTF-8, not JSON, wrong shape)"),
                    "401": _problem("signature missing or wrong, or timestamp outside ±5 minutes"),
                    "404": not_found,
                    "413": _problem("body over 64 KiB"),
                }, keyed=False),
            }
        },
        "/api/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness and storage reachability",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "healthy"),
                    "503": _json(_ref("Health"), "storage unreachable"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document"}},
            }
        },
        "/api": {
            "get": {
                "operationId": "index",
                "summary": "Every route of this API, and where this document is",
                "responses": {"200": _json(_ref("ApiIndex"), "the routes")},
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process)."""
    _, generated = models_json_schema(
        [
            (BookingRequest, "validation"),
            (CancelRequest, "validation"),
            (BookingResource, "serialization"),
            (SupplierList, "serialization"),
        ],
        ref_template=_REF,
    )
    schemas = {**generated.get("$defs", {}), **_edge_schemas()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conference trips booking API",
            "version": "1.0.0",
            "description": "Book conference trips (ticket, travel, hotel) as one all-or-nothing booking.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": _paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
        },
        "security": [{"functionKey": []}],
    }


@endpoint("openapi.json", "GET", durable=False)
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(document(), 200, {"Cache-Control": "public, max-age=300"})


def index() -> dict[str, Any]:
    """What `GET /api` answers: the routes, read off the OpenAPI document so the two never disagree."""
    doc = document()
    routes = [
        {"method": method.upper(), "path": path, "summary": operation["summary"]}
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    ]
    return {"title": doc["info"]["title"], "openapi": "/api/openapi.json", "routes": routes}


# Azure Functions refuses an empty route; an optional parameter that must stay empty matches the bare
# prefix, `/api`, and nothing else (the known workaround, Azure/Azure-Functions#2473).
@endpoint("{index:maxlength(0)?}", "GET", durable=False)
async def api_index(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(index(), 200, {"Cache-Control": "public, max-age=300"})
