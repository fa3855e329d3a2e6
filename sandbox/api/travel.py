"""Airline (`/airline`) and railway (`/rail`) APIs: search, book a return trip, read, undo.

Both share one shape; they differ in their network (catalog.has_route) and in their tags:
`+noflight` / `+notrain` close the route, `+flaky` and `+down` make the airline answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from aiohttp import web

from sandbox import catalog, tags
from sandbox.api import bookings
from sandbox.api.common import Handler, Route, Services, catalog_price, json_response, query_param
from sandbox.problems import ProblemError
from sandbox.wire import FlightSearch, JourneySearch, LegOut, Offer, TravelBooking, TravelRequest


def _leg_out(leg: catalog.Leg) -> LegOut:
    return LegOut.model_validate(
        {
            "number": leg.number,
            "from": leg.origin,
            "to": leg.destination,
            "departure": leg.departure,
            "arrival": leg.arrival,
        }
    )


@dataclass(frozen=True)
class _Network:
    """How one mode is published: its API (name and path prefix), its references and its search."""

    api: str
    reference_prefix: str
    search: str  # the search path's last segment, also the search answer's one field
    search_answer: type[FlightSearch] | type[JourneySearch]
    book_errors: tuple[int, ...]


_NETWORKS: dict[catalog.Mode, _Network] = {
    "flight": _Network("airline", "FL-", "flights", FlightSearch, (400, 415, 422, 503)),
    "train": _Network("rail", "RL-", "journeys", JourneySearch, (400, 415, 422)),
}


def _no_route(mode: catalog.Mode, origin: str, destination: str) -> ProblemError:
    return ProblemError(422, "no_route", f"no {mode} from {origin} to {destination}")


def _check_tags(mode: catalog.Mode, body: TravelRequest, svc: Services) -> None:
    found = tags.tags_of(body.traveller.email)
    if mode == "flight":
        if tags.DOWN in found:
            raise ProblemError(503, "unavailable", "the airline is down")
        if tags.FLAKY in found:
            # Counted per traveller and trip (not per key), so a retry with a fresh key still recovers.
            counter = (
                f"flaky:{body.traveller.email.lower()}:{body.origin}:{body.destination}:"
                f"{body.outbound_date}:{body.return_date}"
            )
            if svc.store.bump(counter) <= tags.FLAKY_FAILURES:
                raise ProblemError(503, "unavailable", "the airline is having a bad moment; try again")
        if tags.NOFLIGHT in found:
            raise _no_route(mode, body.origin, body.destination)
    elif tags.NOTRAIN in found:
        raise _no_route(mode, body.origin, body.destination)


def _builder(mode: catalog.Mode) -> bookings.Builder:
    def build(body: TravelRequest, reference: str, svc: Services, created: datetime) -> TravelBooking:
        _check_tags(mode, body, svc)
        if not catalog.has_route(mode, body.origin, body.destination):
            raise _no_route(mode, body.origin, body.destination)
        out = catalog.leg(mode, body.origin, body.destination, body.outbound_date, outbound=True)
        back = catalog.leg(mode, body.destination, body.origin, body.return_date, outbound=False)
        return TravelBooking.model_validate(
            {
                "reference": reference,
                "status": "active",
                "mode": mode,
                "origin": body.origin,
                "destination": body.destination,
                "outbound": _leg_out(out),
                "return": _leg_out(back),
                "price": catalog_price(catalog.fare(mode, body.origin, body.destination)),
                "createdAt": created,
                "undoneAt": None,
            }
        )

    return build


def _search_handler(mode: catalog.Mode) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        origin = query_param(request, "origin", r"[A-Z]{3}")
        destination = query_param(request, "destination", r"[A-Z]{3}")
        raw_day = query_param(request, "date", r"\d{4}-\d{2}-\d{2}")
        try:
            day = date.fromisoformat(raw_day)
        except ValueError as exc:
            raise ProblemError(400, "malformed_request", "query parameter 'date' is not a date") from exc
        offers = []
        if catalog.has_route(mode, origin, destination):
            offers.append(
                Offer(
                    mode=mode,
                    leg=_leg_out(catalog.leg(mode, origin, destination, day, outbound=True)),
                    price=catalog_price(catalog.fare(mode, origin, destination)),
                )
            )
        network = _NETWORKS[mode]
        return json_response(network.search_answer.model_validate({network.search: offers}))

    return handle


def routes(mode: catalog.Mode) -> list[Route]:
    network = _NETWORKS[mode]
    api = network.api
    return [
        Route(
            "GET",
            f"/{api}/{network.search}",
            _search_handler(mode),
            f"Search {mode}s on one day (no booking, no tags)",
            api,
            response=network.search_answer,
            errors=(400,),
            query=(
                ("origin", True, "IATA code"),
                ("destination", True, "IATA code"),
                ("date", True, "YYYY-MM-DD"),
            ),
        ),
        *bookings.routes(
            api,
            f"/{api}/bookings",
            network.reference_prefix,
            TravelRequest,
            TravelBooking,
            _builder(mode),
            book=f"Book a return {mode}",
            noun=f"{mode} booking",
            errors=network.book_errors,
        ),
    ]
