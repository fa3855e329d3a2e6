"""The supplier steps of a trip, each defined once: the activity that books it, the outcome it answers,
the activity that undoes it, and the part of the trip's view it fills.

A trip's view is its compensation stack: the parts it holds, in the order they were booked (ticket,
travel, hotel), are exactly what must be undone, newest first. So the trip undoing itself, the booking
undoing a trip that did book, and the reclaim of a booking whose outcome was unknown all read their
undo from here (`compensations`, `SupplierStep.undo`) and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from booking.activity_io import Activity, HotelOutcome, TicketOutcome, TravelOutcome
from booking.status import ItemStatus
from booking.view import BookedItem, TravelView, TripView

PartName = Literal["ticket", "travel", "hotel"]
OutcomeT = TypeVar("OutcomeT", TicketOutcome, TravelOutcome, HotelOutcome)


@dataclass(frozen=True)
class SupplierStep(Generic[OutcomeT]):
    name: Literal["ticket", "flight", "train", "hotel"]  # also the expense line's category
    supplier: Literal["conference", "airline", "rail", "hotel"]  # the supplier API: its circuit's key
    part: PartName
    book: Activity
    undo: Activity
    outcome: type[OutcomeT]


TICKET: SupplierStep[TicketOutcome] = SupplierStep(
    "ticket", "conference", "ticket", Activity.BOOK_TICKET, Activity.UNDO_TICKET, TicketOutcome
)
FLIGHT: SupplierStep[TravelOutcome] = SupplierStep(
    "flight", "airline", "travel", Activity.BOOK_FLIGHT, Activity.UNDO_FLIGHT, TravelOutcome
)
TRAIN: SupplierStep[TravelOutcome] = SupplierStep(
    "train", "rail", "travel", Activity.BOOK_TRAIN, Activity.UNDO_TRAIN, TravelOutcome
)
HOTEL: SupplierStep[HotelOutcome] = SupplierStep(
    "hotel", "hotel", "hotel", Activity.BOOK_HOTEL, Activity.UNDO_HOTEL, HotelOutcome
)

SUPPLIER_STEPS = (TICKET, FLIGHT, TRAIN, HOTEL)


@dataclass(frozen=True)
class BookedPart:
    """A part of a trip a supplier booked, with the step that booked it (and so can undo it)."""

    step: SupplierStep[Any]
    item: BookedItem


# The parts of a trip's view in the order a trip books them.
PARTS: tuple[PartName, ...] = ("ticket", "travel", "hotel")


def step_of(part: PartName, item: BookedItem) -> SupplierStep[Any]:
    """The step that booked this part of a trip (travel: the flight or the train, by its mode)."""
    name = item.mode.value if isinstance(item, TravelView) else part
    return next(step for step in SUPPLIER_STEPS if step.part == part and step.name == name)


def booked_parts(trip: TripView) -> list[BookedPart]:
    """Every part the trip holds, in booking order, whatever its status."""
    parts = [(part, getattr(trip, part)) for part in PARTS]
    return [BookedPart(step_of(part, item), item) for part, item in parts if item is not None]


def compensations(trip: TripView) -> list[BookedPart]:
    """The trip's compensation stack, oldest first: the parts still booked, each with its undo."""
    return [part for part in booked_parts(trip) if part.item.status is ItemStatus.BOOKED]
