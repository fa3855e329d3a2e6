"""Hotel API (`/hotel`): hotels per conference city, reservations for a stay, undo.

`+nohotel` makes every hotel sold out; a city without hotels in the catalog is sold out too.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from sandbox import catalog, tags
from sandbox.api import bookings
from sandbox.api.common import Route, Services, catalog_price, json_response, query_param
from sandbox.problems import ProblemError
from sandbox.wire import HotelOffer, HotelOut, HotelSearch, Reservation, ReservationRequest

SUPPLIER = "hotel"


async def search(request: web.Request) -> web.StreamResponse:
    city = query_param(request, "city")
    return json_response(
        HotelSearch(
            hotels=[
                HotelOffer(
                    hotel_id=h.hotel_id, name=h.name, city=h.city, nightly_price=catalog_price(h.nightly)
                )
                for h in catalog.hotels_in(city)
            ]
        )
    )


def _build(body: ReservationRequest, reference: str, svc: Services, created: datetime) -> Reservation:
    available = catalog.hotels_in(body.city)
    if tags.NOHOTEL in tags.tags_of(body.traveller.email) or not available:
        raise ProblemError(
            409, "sold_out", f"no room in {body.city} from {body.check_in} to {body.check_out}"
        )
    hotel = available[0]
    nights = (body.check_out - body.check_in).days
    return Reservation(
        reference=reference,
        status="active",
        hotel=HotelOut(hotel_id=hotel.hotel_id, name=hotel.name, city=hotel.city),
        check_in=body.check_in,
        check_out=body.check_out,
        nights=nights,
        nightly_price=catalog_price(hotel.nightly),
        price=catalog_price(hotel.nightly * nights),
        created_at=created,
        undone_at=None,
    )


ROUTES = [
    Route(
        "GET",
        "/hotel/hotels",
        search,
        "Hotels of a city (name or airport code), cheapest first",
        SUPPLIER,
        response=HotelSearch,
        errors=(400,),
        query=(("city", True, "city name or airport code"),),
    ),
    *bookings.routes(
        SUPPLIER,
        "/hotel/reservations",
        "HT-",
        ReservationRequest,
        Reservation,
        _build,
        book="Reserve a room for a stay",
        noun="reservation",
        errors=(400, 409, 415, 422),
    ),
]
