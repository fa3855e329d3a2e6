"""The request log (`GET /_sandbox/requests`): every supplier request with the traceparent it carried, and
the app's supplier clients sending the current W3C trace on every request."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from suppliers import ConferenceClient
from suppliers.base import joined_trace
from suppliers.models import Traveller
from tests.sandbox.helpers import email, key, post
from tests.support.sandbox import SandboxProcess

CONF = "serverlessdays-amsterdam-2027"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class InvocationTrace:
    """The shape of `context.trace_context`, as the worker fills it."""

    trace_parent: str
    trace_state: str = ""


async def _received(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    response = await client.get("/_sandbox/requests", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()
    return rows


async def test_each_supplier_request_is_logged_with_its_traceparent(client: httpx.AsyncClient) -> None:
    k = key()
    body = {"conferenceId": CONF, "traveller": {"name": "Ada", "email": email()}}
    sent = await client.post(
        "/conference/tickets", json=body, headers={"Idempotency-Key": k, "traceparent": TRACEPARENT}
    )
    assert sent.status_code == 201
    untraced = await post(client, "/conference/tickets", body, k + "-other")
    assert untraced.status_code == 201

    mine = await _received(client, idempotencyKeyPrefix=k)
    assert [(r["api"], r["method"], r["path"], r["traceparent"]) for r in mine] == [
        ("conference", "POST", "/conference/tickets", TRACEPARENT),
        ("conference", "POST", "/conference/tickets", None),
    ]
    assert set(mine[0]) == {"api", "method", "path", "idempotencyKey", "traceparent", "receivedAt"}
    in_trace = await _received(client, traceId=TRACE)
    assert any(r["idempotencyKey"] == k for r in in_trace)
    assert all(str(r["traceparent"])[3:35] == TRACE for r in in_trace)


async def test_requests_are_logged_as_received_even_when_refused(client: httpx.AsyncClient) -> None:
    k = key()
    hostile = "00-" + "z" * 5000
    two = [("Idempotency-Key", k), ("traceparent", TRACEPARENT), ("traceparent", hostile)]
    refused = await client.post("/conference/tickets", content=b"{", headers=two)
    assert refused.status_code == 415  # no JSON content type: refused before anything is done
    (row,) = await _received(client, idempotencyKeyPrefix=k)
    logged = str(row["traceparent"])
    assert logged.startswith(f"{TRACEPARENT}, 00-zzz") and len(logged) == 1024  # bounded


async def test_control_and_catalog_paths_outside_the_apis_are_not_logged(client: httpx.AsyncClient) -> None:
    await client.get("/_sandbox/health", headers={"traceparent": TRACEPARENT})
    assert all(r["api"] != "_sandbox" for r in await _received(client))


async def test_supplier_client_sends_the_current_trace(
    sandbox: SandboxProcess, client: httpx.AsyncClient
) -> None:
    k = key()
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/conference", timeout=10) as http:
        conference = ConferenceClient(http)
        traveller = Traveller(name="Ada", email=email())
        with joined_trace(InvocationTrace(TRACEPARENT, "congo=t61rcWkgMzE")):
            await conference.book(CONF, traveller, idempotency_key=k)
        await conference.book(CONF, traveller, idempotency_key=k + "-after")
        with joined_trace(InvocationTrace("00-not-a-traceparent")):
            await conference.book(CONF, traveller, idempotency_key=k + "-bad")
    rows = await _received(client, idempotencyKeyPrefix=k)
    assert [(r["idempotencyKey"], r["traceparent"]) for r in rows] == [
        (k, TRACEPARENT),
        (k + "-after", None),  # the trace ended with its block
        (k + "-bad", None),  # an invalid parent joins nothing
    ]
