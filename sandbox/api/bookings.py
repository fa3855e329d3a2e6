"""Create / read / undo for supplier bookings (tickets, flights, trains, hotels, expense reports),
and the three routes that serve them, declared once for every supplier.

The rules live here once: a replayed Idempotency-Key answers the stored booking (200) before any
scenario tag is looked at; another body under the same key is 422; undo is idempotent; unknown 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from sandbox.api.common import (
    Handler,
    Route,
    Services,
    fingerprint,
    idempotency_key,
    json_response,
    new_reference,
    read_body,
    replayed,
    services,
)
from sandbox.problems import ProblemError
from sandbox.store import BookingRow
from sandbox.wire import Traveller, iso, now_iso, utc_now

# build(request body, new reference, services, created_at) -> the full resource model (status active)
Builder = Callable[[Any, str, Services, datetime], BaseModel]

_STATE_FIELDS = ("status", "createdAt", "undoneAt")


def _create_handler(supplier: str, model: type[BaseModel], prefix: str, build: Builder) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        svc = services(request)
        key = idempotency_key(request)
        body = await read_body(request, model)
        digest = fingerprint(body)
        existing = replayed(svc.store.booking_by_key(supplier, key), digest)
        if existing is not None:
            return json_response(existing.view(), 200)
        created = utc_now()
        reference = new_reference(prefix)
        # No await between the lookup above and the insert below: on one event loop that makes
        # "check key, then book" atomic, so two identical concurrent POSTs book once.
        resource = build(body, reference, svc, created).model_dump(mode="json", by_alias=True)
        traveller: Traveller = body.traveller  # type: ignore[attr-defined]
        row = BookingRow(
            reference=reference,
            supplier=supplier,
            idempotency_key=key,
            fingerprint=digest,
            email=traveller.email.lower(),
            booking_id=resource.get("bookingId"),
            status="active",
            body={k: v for k, v in resource.items() if k not in _STATE_FIELDS},
            created_at=iso(created),
            undone_at=None,
        )
        svc.store.insert_booking(row)
        return json_response(row.view(), 201)

    return handle


def _not_found(reference: str) -> ProblemError:
    return ProblemError(404, "booking_not_found", f"no booking with reference '{reference}'")


def _get_handler(supplier: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]
        row = services(request).store.booking(supplier, reference)
        if row is None:
            raise _not_found(reference)
        return json_response(row.view())

    return handle


def _undo_handler(supplier: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]
        row = services(request).store.undo_booking(supplier, reference, now_iso())
        if row is None:
            raise _not_found(reference)
        return json_response(row.view())

    return handle


def routes(
    supplier: str,
    collection: str,
    prefix: str,
    request: type[BaseModel],
    resource: type[BaseModel],
    build: Builder,
    *,
    book: str,
    noun: str,
    errors: tuple[int, ...],
    undo: str = "Undo (cancel)",
) -> list[Route]:
    """Book (POST `collection`), read and undo (GET / DELETE `collection/{reference}`) one supplier's
    bookings; `supplier` is both the store's key and the OpenAPI tag, `errors` those of booking."""
    one = f"{collection}/{{reference}}"
    return [
        Route(
            "POST",
            collection,
            _create_handler(supplier, request, prefix, build),
            book,
            supplier,
            body=request,
            response=resource,
            success=201,
            errors=errors,
            idempotent_create=True,
        ),
        Route(
            "GET",
            one,
            _get_handler(supplier),
            f"Read a {noun}",
            supplier,
            response=resource,
            errors=(404,),
        ),
        Route(
            "DELETE",
            one,
            _undo_handler(supplier),
            f"{undo} a {noun}; idempotent",
            supplier,
            response=resource,
            errors=(404,),
        ),
    ]
