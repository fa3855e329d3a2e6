"""Log and response hygiene of the real processes: Azurite, the sandbox and devhost (tests/e2e/conftest.py).

Every scenario of the sandbox is booked (and some hostile requests are sent) with unique traveller
emails; then the captured output of devhost and of the sandbox must hold none of those emails and
none of the webhook secret, and nothing a traveller receives may carry a management URL, a key or a
stack trace. That devhost runs with telemetry on (spans printed, JSON log lines), so spans and
structured lines are held to the same rule. A second devhost runs with `--auth`: function-level
endpoints need a key, anonymous ones do not, and no key is ever echoed or logged.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import free_port, running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.azurite import Azurite
from tests.support.devhost import REPO_ROOT, DevhostProcess
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

TELEMETRY_ON = {"OTEL_TRACES_EXPORTER": "console", "LOG_FORMAT": "json"}
SCENARIOS = ["", "flaky", "noflight", "noflight+notrain", "nohotel", "down", "decline", "nopay"]
# What a traveller must never be shown: runtime URLs, keys in a query, Python or .NET stack traces.
LEAKS = re.compile(
    r"runtime/webhooks|/durabletask/|code=|Traceback|File \"|StackTrace|taskHub=", re.IGNORECASE
)


def secret_forms(secret: str) -> list[str]:
    """The setting, its base64 key, and the key's bytes as text when they are printable."""
    key_b64 = secret.removeprefix("whsec_")
    forms = [secret, key_b64]
    raw = base64.b64decode(key_b64)
    if raw.isascii() and raw.decode().isprintable():
        forms.append(raw.decode())
    return forms


def assert_clean(text: str, emails: list[str], secrets: list[str], where: str) -> None:
    lowered = text.lower()
    for email in emails:
        local = email.split("@", 1)[0]
        assert email.lower() not in lowered, f"{where} logged a traveller's email"
        assert local.lower() not in lowered, f"{where} logged a traveller's address (local part)"
    for secret in secrets:
        assert secret not in text, f"{where} logged the webhook secret"


def assert_traveller_safe(response: httpx.Response) -> None:
    shown = response.text + json.dumps(dict(response.headers))
    assert not LEAKS.search(shown), f"{response.request.method} {response.request.url.path}: {shown[:300]}"


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    """devhost with telemetry on: every span is printed to its output (the console exporter) and every log
    line is JSON, so what is checked below is what an OTLP collector and a log pipeline would receive."""
    with running_devhost(azurite, sandbox, settings=TELEMETRY_ON) as host:
        yield host


def test_no_email_or_secret_in_the_logs_of_a_run_of_every_scenario(
    journey: Journey, devhost: DevhostProcess, sandbox: SandboxProcess
) -> None:
    emails: list[str] = []
    started: list[str] = []
    for tags in SCENARIOS:
        email = unique_email(tags)
        emails.append(email)
        response = journey.book(email, [trip(), trip("europython-prague-2027", "MUC")])
        assert response.status_code == 202, response.text
        assert_traveller_safe(response)
        started.append(response.json()["bookingId"])
    # An idempotent replay, a cancel and hostile requests that carry an email in what they send.
    replay_email = unique_email("nopay")
    emails.append(replay_email)
    for _ in range(2):
        replayed = journey.book(replay_email, [trip()], idempotency_key=f"hygiene-{replay_email}")
        assert replayed.status_code == 202
        assert_traveller_safe(replayed)
    started.append(replayed.json()["bookingId"])
    cancelled = journey.book_ok(unique_email("nopay"), [trip()])
    journey.wait_for(cancelled, {"AwaitingPayment"})
    cancel = journey.cancel(cancelled)
    assert cancel.status_code == 202
    assert_traveller_safe(cancel)
    started.append(cancelled)
    hostile: list[dict[str, Any]] = [
        {"traveller": {"name": "Eve", "email": (bad := unique_email("x") + "\r\nBcc: x")}, "trips": [trip()]},
        {"traveller": {"name": "Eve", "email": (bad2 := unique_email())}, "trips": [trip()], "extra": 1},
        {
            "traveller": {"name": "Eve", "email": (bad3 := unique_email())},
            "trips": [{**trip(), "hotel": "yes"}],
        },
        {"traveller": {"name": "Eve", "email": (bad4 := unique_email())}, "trips": [trip()] * 11},
    ]
    emails += [bad.split("\r")[0], bad2, bad3, bad4]
    for document in hostile:
        response = journey.http.post(f"{journey.api_url}/api/bookings", json=document)
        assert response.status_code == 422, response.text
        assert_traveller_safe(response)
        sent = document["traveller"]["email"].split("\r")[0]
        assert sent not in response.text, "a 422 must name fields, never echo their values"

    finals = {booking_id: journey.wait_final(booking_id) for booking_id in started}
    assert {b["status"] for b in finals.values()} >= {"Confirmed", "Failed", "Cancelled"}
    for booking_id in started:
        assert_traveller_safe(journey.get(booking_id))
        events = journey.http.get(f"{journey.api_url}/api/bookings/{booking_id}/events")
        assert events.status_code == 200
        assert_traveller_safe(events)

    # A forged and a redelivered webhook, logged as refusals and duplicates, without their secrets.
    confirmed = next(b for b in finals.values() if b["status"] == "Confirmed")
    body = journey.payment_body("payment.succeeded", confirmed)
    headers = journey.signed_headers(body)
    assert journey.post_webhook(body, headers).status_code == 200
    assert journey.post_webhook(body, headers).json()["outcome"] == "duplicate"
    assert journey.post_webhook(body, {**headers, "webhook-signature": "v1,AAAA"}).status_code == 401

    secrets = secret_forms(sandbox.webhook_secret)
    # The logs looked at are this run's: they name its bookings and its supplier calls.
    assert all(booking_id in devhost.output() for booking_id in started)
    assert "POST /airline/bookings" in "\n".join(sandbox.output)
    # ... and its spans (printed by the console exporter) and JSON log lines name them too.
    for booking_id in started:
        assert f'"booking.id": "{booking_id}"' in devhost.output(), f"no span or JSON line of {booking_id}"
    assert '"kind": "SpanKind.CLIENT"' in devhost.output()
    assert_clean(devhost.output(), emails, secrets, "devhost")
    assert_clean("\n".join(sandbox.output), emails, secrets, "the sandbox")
    # Not in orchestration history or custom status either (operators read those in Storage Explorer).
    for booking_id in started:
        url = f"{devhost.base_url}/runtime/webhooks/durabletask/instances/{booking_id}"
        raw = journey.http.get(url, params={"showHistory": "true", "showHistoryOutput": "true"}).text
        for secret in secrets:
            assert secret not in raw, f"the webhook secret is in the history of {booking_id}"


# --- python -m devhost start --auth --------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_host(sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    port = free_port()
    settings = {**sandbox.app_settings(), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    host = DevhostProcess(REPO_ROOT, storage="memory", env=settings, port=port, auth=True)
    try:
        host.start()
        yield host
    finally:
        host.close()


def host_keys(app_root: Path) -> dict[str, Any]:
    return dict(json.loads((app_root / ".devhost" / "keys.json").read_text(encoding="utf-8")))


def test_with_auth_function_endpoints_need_a_key_and_anonymous_ones_do_not(auth_host: DevhostProcess) -> None:
    keys = host_keys(REPO_ROOT)
    function_key = next(iter(keys["functionKeys"].values()))
    every_key = [keys["masterKey"], *keys["functionKeys"].values(), *keys["systemKeys"].values()]
    base = auth_host.base_url
    body = {"traveller": {"name": "Ada", "email": unique_email("nopay")}, "trips": [trip()]}
    seen: list[httpx.Response] = []
    with httpx.Client(timeout=30) as http:
        for headers, params in [({}, {}), ({"x-functions-key": "wrong"}, {}), ({}, {"code": "wrong"})]:
            refused = http.post(f"{base}/api/bookings", json=body, headers=headers, params=params)
            assert refused.status_code == 401
            assert http.get(f"{base}/api/bookings", headers=headers, params=params).status_code == 401
            seen.append(refused)
        by_header = http.post(f"{base}/api/bookings", json=body, headers={"x-functions-key": function_key})
        assert by_header.status_code == 202, by_header.text
        by_code = http.get(by_header.headers["Location"], params={"code": function_key})
        assert by_code.status_code == 200
        seen += [by_header, by_code]
        # Anonymous: health, and the webhook (whose own signature check then answers).
        health = http.get(f"{base}/api/health")
        assert health.status_code == 200
        unsigned = http.post(
            f"{base}/api/webhooks/payments", content=b"{}", headers={"content-type": "application/json"}
        )
        assert unsigned.status_code == 401 and unsigned.json()["type"].endswith("invalid-signature")
        seen += [health, unsigned]
        # The management webhook wants the system key; a function key is not enough.
        instances = f"{base}/runtime/webhooks/durabletask/instances"
        assert http.get(instances).status_code == 401
        assert http.get(instances, params={"code": function_key}).status_code == 401
        assert (
            http.get(instances, params={"code": keys["systemKeys"]["durabletask_extension"]}).status_code
            == 200
        )
    for response in seen:
        assert_traveller_safe(response)
        shown = response.text + json.dumps(dict(response.headers))
        assert not any(key in shown for key in every_key), "a key was echoed to the caller"
    output = auth_host.output()
    assert not any(key in output for key in every_key), "a key was logged"
