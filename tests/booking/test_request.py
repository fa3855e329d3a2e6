"""The booking request validates every field of booking-api.md and fingerprints its canonical form."""

import pytest
from pydantic import ValidationError

from booking import BookingRequest


def _body(**overrides):
    body = {
        "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}],
        "currency": "EUR",
    }
    body.update(overrides)
    return body


def test_camel_case_in_snake_case_out_and_hotel_defaults_true():
    request = BookingRequest.model_validate(_body())
    assert request.trips[0].conference_id == "serverlessdays-amsterdam-2027"
    assert request.trips[0].hotel is True
    assert request.to_wire()["trips"][0] == {
        "conferenceId": "serverlessdays-amsterdam-2027",
        "origin": "BER",
        "hotel": True,
    }


def _error_fields(body):
    with pytest.raises(ValidationError) as info:
        BookingRequest.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


def test_every_invalid_field_is_listed():
    fields = _error_fields(
        _body(
            traveller={"name": "", "email": "not-an-email"},
            trips=[{"conferenceId": "x", "origin": "ber"}, {"origin": "BERL"}],
            currency="eur",
        )
    )
    assert {
        "traveller.name",
        "traveller.email",
        "trips.0.origin",
        "trips.1.conferenceId",
        "trips.1.origin",
        "currency",
    } <= fields


@pytest.mark.parametrize("trips", [[], [{"conferenceId": "c", "origin": "BER"}] * 11])
def test_one_to_ten_trips(trips):
    assert "trips" in _error_fields(_body(trips=trips))


def test_unknown_fields_and_unsupported_currency_are_refused():
    assert "extra" in _error_fields(_body(extra=1))
    assert "currency" in _error_fields(_body(currency="USD"))


def test_fingerprint_ignores_formatting_but_not_content():
    a = BookingRequest.model_validate(_body())
    b = BookingRequest.model_validate_json(
        '{"currency":"EUR","trips":[{"hotel":true,"origin":"BER",'
        '"conferenceId":"serverlessdays-amsterdam-2027"}],'
        '"traveller":{"email":"ada@example.com","name":"Ada Lovelace"}}'
    )
    c = BookingRequest.model_validate(_body(trips=[{"conferenceId": "ndc-oslo-2027", "origin": "BER"}]))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ada\x00Lovelace"),
        ("name", "Ada \u202eecalevoL"),  # a right-to-left override disguises what is shown
        ("name", "Ada\x1b[31m"),
        ("email", "ada\x00@example.com"),
        ("email", "ada\u200b@example.com"),
    ],
)
def test_control_and_format_characters_are_refused_in_the_traveller(field, value):
    traveller = {"name": "Ada Lovelace", "email": "ada@example.com", field: value}
    with pytest.raises(ValidationError) as raised:
        BookingRequest.model_validate(_body(traveller=traveller))
    assert raised.value.errors()[0]["loc"] == ("traveller", field)


def test_names_in_any_script_are_welcome():
    traveller = {"name": "Zoë Ñúñez 王芳", "email": "z@example.com"}
    request = BookingRequest.model_validate(_body(traveller=traveller))
    assert request.traveller.name == "Zoë Ñúñez 王芳"
