"""The one exception-to-problem mapping, and the boundary every client function runs in."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest
from pydantic import BaseModel, ValidationError

from booking import BookingRequest
from booking.errors import (
    BookingAlreadyFinal,
    BookingNotFound,
    ConfigurationError,
    IdempotencyKeyReused,
    TransientSupplierError,
)
from clients import errors as edge
from clients.errors import FieldError, InvalidFields, InvalidSignature
from clients.problems import problem_boundary, to_problem
from clients.validation import field_path, validate_input


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (edge.InvalidFields([FieldError("currency", "bad")]), 422),
        (edge.MalformedRequest("x"), 400),
        (edge.InvalidRequestBody("x"), 400),
        (edge.InvalidIdempotencyKey("x"), 400),
        (edge.QueryError([FieldError("limit", "bad")]), 400),
        (edge.InvalidSignature("timestamp too old"), 401),
        (BookingNotFound("bk_1"), 404),
        (BookingAlreadyFinal("bk_1", "Confirmed"), 409),
        (edge.PayloadTooLarge("x"), 413),
        (IdempotencyKeyReused("k"), 422),
        (edge.DurableUnavailable("x"), 503),
        (TransientSupplierError("airline", "503"), 503),
        (ConfigurationError("invalid settings: PAYMENT_WEBHOOK_SECRET"), 500),
        (RuntimeError("boom"), 500),
    ],
)
def test_each_error_has_its_status(exc: Exception, status: int) -> None:
    assert to_problem(exc).status == status


def test_a_stray_validation_error_is_our_bug_not_the_callers() -> None:
    class Internal(BaseModel):
        x: int

    with pytest.raises(ValidationError) as caught:
        Internal.model_validate({"x": "nope"})
    assert to_problem(caught.value).status == 500


def test_the_signature_failure_reason_stays_out_of_the_response() -> None:
    body = to_problem(InvalidSignature("Message timestamp too old")).body()
    assert "too old" not in json.dumps(body)


def test_validation_lists_camel_case_paths_with_indexes() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_input(
            BookingRequest, {"traveller": {"name": "A"}, "trips": [{"conferenceId": "c", "origin": "x"}]}
        )
    fields = [e.field for e in caught.value.errors]
    assert fields == ["traveller.email", "trips[0].origin"]
    assert field_path(()) == "body" and field_path(("a", 0, "b", 1)) == "a[0].b[1]"


async def test_the_boundary_answers_500_without_the_exception_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    email = "ada" + "@example.com"  # not spelled out, so the logged source line cannot contain it

    async def handler(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError(f"{email} broke it")

    response = await problem_boundary(handler)(req=func.HttpRequest("GET", "http://x/api/y", body=b""))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "ada@example.com" not in response.get_body().decode()
    assert "ada@example.com" not in caplog.text and "RuntimeError" in caplog.text


async def test_the_boundary_passes_answers_through() -> None:
    async def handler(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok", status_code=201)

    response = await problem_boundary(handler)(req=func.HttpRequest("GET", "http://x/api/y", body=b""))
    assert response.status_code == 201
