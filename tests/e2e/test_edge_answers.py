"""The edge cases of this round against the real processes (devhost serving function_app.py over
Azurite, the sandbox): each answers what docs/booking-api.md and the OpenAPI document say.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e


def raw_get(base_url: str, target: bytes, host: bytes) -> tuple[int, bytes]:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return int(response.split(b" ", 2)[1]), response


def test_a_foreign_host_is_refused_and_links_use_the_public_base_url(
    devhost: DevhostProcess, journey: Journey
) -> None:
    status, response = raw_get(devhost.base_url, b"/api/health", b"evil.example")
    assert status == 400 and b"evil.example" not in response
    booked = journey.book(unique_email(), [trip()])
    assert booked.status_code == 202
    # PUBLIC_BASE_URL is set to devhost's own address in the e2e settings.
    assert booked.headers["Location"].startswith(devhost.base_url + "/api/bookings/bk_")


@pytest.mark.parametrize("value", [b"a%0Ab", b"a%0D%0Ab", b"a%00b"])
def test_control_characters_in_a_route_value_get_the_apps_problem_404(
    devhost: DevhostProcess, value: bytes
) -> None:
    host = urlsplit(devhost.base_url).netloc.encode()
    status, response = raw_get(devhost.base_url, b"/api/bookings/" + value, host)
    assert status == 404 and b"application/problem+json" in response.lower(), response


def test_repeated_idempotency_keys_empty_status_and_duplicate_conferences_are_refused(
    journey: Journey,
) -> None:
    body = {"traveller": {"name": "Ada", "email": unique_email()}, "trips": [trip()], "currency": "EUR"}
    two_keys = [("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    assert (
        journey.http.post(f"{journey.api_url}/api/bookings", json=body, headers=two_keys).status_code == 400
    )
    assert journey.http.get(f"{journey.api_url}/api/bookings", params={"status": ""}).status_code == 400
    twice = {**body, "trips": [trip(), trip(origin="LHR")]}
    refused = journey.http.post(f"{journey.api_url}/api/bookings", json=twice)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["trips[1].conferenceId"]
    snake = {**body, "trips": [{"conference_id": "serverlessdays-amsterdam-2027", "origin": "BER"}]}
    assert journey.http.post(f"{journey.api_url}/api/bookings", json=snake).status_code == 422


def test_a_signed_webhook_that_is_not_utf8_is_400(journey: Journey) -> None:
    body = b'{"type": "payment.succeeded", "data": {"bookingId": "\xff"}}'
    assert journey.post_webhook(body, journey.signed_headers(body)).status_code == 400
    forged = {**journey.signed_headers(body), "webhook-signature": "v1," + "A" * 43 + "="}
    assert journey.post_webhook(body, forged).status_code == 401


def test_a_cancel_body_with_a_bad_reason_is_422(journey: Journey) -> None:
    booking_id = journey.book_ok(unique_email("nopay"), [trip()])
    url = f"{journey.api_url}/api/bookings/{booking_id}/cancel"
    assert journey.http.post(url, json={"reason": 5}).status_code == 422
    assert journey.http.post(url, json={"reason": "changed plans"}).status_code == 202
