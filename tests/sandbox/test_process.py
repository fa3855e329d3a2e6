"""The real process: settings checked at start, --port 0 announced, SIGTERM stops it cleanly, and a
restart on the same --db keeps bookings, payments, faults and pending webhook deliveries.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from standardwebhooks import Webhook

from tests.sandbox.helpers import email, key, post
from tests.sandbox.test_payment import payment
from tests.support.sandbox import REPO_ROOT, SandboxError, SandboxProcess, sandbox_process


@pytest.mark.parametrize("secret", ["", "not-a-secret", "whsec_!!!", "whsec_c2hvcnQ="])
def test_refuses_to_start_without_a_valid_webhook_secret(secret):
    env = {"PATH": "/usr/bin:/bin", "PAYMENT_WEBHOOK_SECRET": secret}
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--db", ":memory:"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "PAYMENT_WEBHOOK_SECRET" in done.stderr
    if secret:
        assert secret not in done.stderr, "the secret's value must never be printed"
    assert done.stdout == ""


def test_fixture_reports_a_start_failure(tmp_path):
    with pytest.raises(SandboxError, match="PAYMENT_WEBHOOK_SECRET"):
        with sandbox_process(tmp_path / "db.sqlite3", env={"PAYMENT_WEBHOOK_SECRET": "oops"}):
            pass


def test_sigterm_stops_it_cleanly(tmp_path):
    sb = SandboxProcess(db_path=tmp_path / "db.sqlite3")
    url = sb.start()
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert httpx.get(url + "/_sandbox/health").json() == {"status": "ok"}
    assert sb.stop() == 0
    assert not any("Traceback" in line for line in sb.output)
    assert sb.output[0] == f"sandbox listening on {url}"


async def test_a_restart_on_the_same_db_keeps_everything(tmp_path, receiver):
    sb = SandboxProcess(db_path=tmp_path / "state.sqlite3", env={"SANDBOX_WEBHOOK_RETRY_SECONDS": "0.5"})
    await asyncio.to_thread(sb.start)
    try:
        who, ticket_key, pay_key = email("nopay"), key(), key()
        async with httpx.AsyncClient(base_url=sb.url) as c:
            ticket = (
                await post(
                    c,
                    "/conference/tickets",
                    {"conferenceId": "ndc-oslo-2027", "traveller": {"email": who}},
                    ticket_key,
                )
            ).json()
            flight = (
                await post(
                    c,
                    "/airline/bookings",
                    {
                        "origin": "WAW",
                        "destination": "OSL",
                        "outboundDate": "2027-05-23",
                        "returnDate": "2027-05-29",
                        "traveller": {"email": who},
                    },
                )
            ).json()
            await c.delete(f"/airline/bookings/{flight['reference']}")
            pay_body = payment(receiver.url, who, "1490.00")
            pay = (await post(c, "/payment/payments", pay_body, pay_key)).json()
            await c.put("/_sandbox/faults/rail", json={"errorEvery": 2})
            # The receiver refuses everything before the restart, so a delivery can only succeed after it:
            # the retry schedule must survive the process.
            receiver.default = 503
            retried = (await post(c, "/payment/payments", payment(receiver.url, email()))).json()
            await receiver.wait_for(1)
            before = (await c.get("/_sandbox/bookings", params={"email": who})).json()
        assert await asyncio.to_thread(sb.stop) == 0
        receiver.default = 200

        await asyncio.to_thread(sb.start)
        async with httpx.AsyncClient(base_url=sb.url) as c:
            assert (await c.get("/_sandbox/bookings", params={"email": who})).json() == before
            assert [b["status"] for b in before] == ["active", "undone"]
            replay = await post(
                c,
                "/conference/tickets",
                {"conferenceId": "ndc-oslo-2027", "traveller": {"email": who}},
                ticket_key,
            )
            assert replay.status_code == 200 and replay.json() == ticket
            again = await post(c, "/payment/payments", pay_body, pay_key)
            assert again.status_code == 200 and again.json()["paymentId"] == pay["paymentId"]
            assert (await c.get("/_sandbox/faults")).json()["rail"]["errorEvery"] == 2
            hooks = await receiver.wait_for(len([h for h in receiver.received if h.answered != 200]) + 1)
            assert [h.answered for h in hooks][-1] == 200 and all(h.answered == 503 for h in hooks[:-1])
            assert len({h.headers["webhook-id"] for h in hooks}) == 1
            event = Webhook(sb.webhook_secret).verify(hooks[-1].body, hooks[-1].headers)
            assert event["data"]["paymentId"] == retried["paymentId"]
    finally:
        await asyncio.to_thread(sb.stop)


def test_openapi_document_describes_every_route(sandbox):
    doc = httpx.get(sandbox.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path, method in [
        ("/conference/tickets", "post"),
        ("/airline/bookings/{reference}", "delete"),
        ("/rail/bookings", "post"),
        ("/hotel/reservations", "post"),
        ("/payment/payments/{paymentId}/refunds", "post"),
        ("/expense/reports", "post"),
        ("/_sandbox/bookings", "get"),
        ("/_sandbox/payments", "get"),
    ]:
        assert method in paths[path], (path, method)
    post_ticket = paths["/conference/tickets"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post_ticket["parameters"])
    schemas = doc["components"]["schemas"]
    text = str(doc)
    for ref in set(re.findall(r"#/components/schemas/([\w-]+)", text)):
        assert ref in schemas, ref
    assert "returnDate" in schemas["TravelRequest"]["properties"]


def test_fixture_gives_the_app_settings_that_point_at_it(sandbox):
    settings = sandbox.app_settings()
    assert settings["AIRLINE_API_URL"] == f"{sandbox.url}/airline"
    assert set(settings) == {
        "CONFERENCE_API_URL",
        "AIRLINE_API_URL",
        "RAIL_API_URL",
        "HOTEL_API_URL",
        "PAYMENT_API_URL",
        "EXPENSE_API_URL",
        "PAYMENT_WEBHOOK_SECRET",
    }
    assert httpx.get(settings["CONFERENCE_API_URL"] + "/conferences").status_code == 200


async def test_what_was_answered_survives_sigkill(tmp_path):
    sb = SandboxProcess(db_path=tmp_path / "killed.sqlite3")
    await asyncio.to_thread(sb.start)
    try:
        who = email()
        async with httpx.AsyncClient(base_url=sb.url) as c:
            refs = [
                (
                    await post(
                        c,
                        "/conference/tickets",
                        {"conferenceId": "ndc-oslo-2027", "traveller": {"email": who}},
                    )
                ).json()["reference"]
                for _ in range(5)
            ]
        os.kill(sb.pid, signal.SIGKILL)
        assert await asyncio.to_thread(sb.stop) == -signal.SIGKILL
        await asyncio.to_thread(sb.start)
        async with httpx.AsyncClient(base_url=sb.url) as c:
            listed = (await c.get("/_sandbox/bookings", params={"email": who})).json()
        assert [b["reference"] for b in listed] == refs
    finally:
        await asyncio.to_thread(sb.stop)
