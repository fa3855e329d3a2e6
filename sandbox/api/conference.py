"""Conference ticketing API (`/conference`): the catalog, tickets, and undoing a ticket."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from sandbox import catalog
from sandbox.api import bookings
from sandbox.api.common import Route, Services, catalog_price, json_response
from sandbox.problems import ProblemError
from sandbox.wire import ConferenceOut, Ticket, TicketRequest

SUPPLIER = "conference"


def conference_out(c: catalog.Conference) -> ConferenceOut:
    return ConferenceOut(
        conference_id=c.conference_id,
        name=c.name,
        city=c.place.city,
        country=c.place.country,
        airport=c.airport,
        start_date=c.start_date,
        end_date=c.end_date,
        price=catalog_price(c.price),
    )


def _conference(conference_id: str) -> catalog.Conference:
    found = catalog.CONFERENCES.get(conference_id)
    if found is None:
        raise ProblemError(404, "conference_not_found", f"no conference '{conference_id}' in the catalog")
    return found


async def list_conferences(request: web.Request) -> web.StreamResponse:
    return json_response([conference_out(c) for c in catalog.CONFERENCES.values()])


async def get_conference(request: web.Request) -> web.StreamResponse:
    return json_response(conference_out(_conference(request.match_info["conferenceId"])))


def _build(body: TicketRequest, reference: str, svc: Services, created: datetime) -> Ticket:
    conference = _conference(body.conference_id)
    return Ticket(
        reference=reference,
        status="active",
        conference=conference_out(conference),
        price=catalog_price(conference.price),
        created_at=created,
        undone_at=None,
    )


ROUTES = [
    Route(
        "GET",
        "/conference/conferences",
        list_conferences,
        "List the conference catalog",
        SUPPLIER,
        response=ConferenceOut,
        response_is_list=True,
    ),
    Route(
        "GET",
        "/conference/conferences/{conferenceId}",
        get_conference,
        "One conference",
        SUPPLIER,
        response=ConferenceOut,
        errors=(404,),
    ),
    *bookings.routes(
        SUPPLIER,
        "/conference/tickets",
        "CT-",
        TicketRequest,
        Ticket,
        _build,
        book="Book a conference ticket",
        noun="ticket",
        errors=(400, 404, 415, 422),
    ),
]
