"""The shared answer mapping of every client: transient vs permanent vs business outcome, Retry-After,
timeouts, the Idempotency-Key header and base-URL handling (httpx.MockTransport, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from suppliers import ConferenceClient, Rejected, RejectionCode, SupplierProtocolError, SupplierUnavailable
from suppliers.base import parse_retry_after
from suppliers.models import Traveller
from tests.suppliers.mock import Recorder, problem
from tests.suppliers.samples import TICKET

ADA = Traveller(name="Ada", email="ada+flaky@example.com")


async def book(recorder: Recorder, **kwargs):
    async with recorder.client() as http:
        return await ConferenceClient(http, **kwargs).book(
            "serverlessdays-amsterdam-2027", ADA, idempotency_key="key-1"
        )


async def test_success_sends_camelcase_body_key_and_timeout_under_the_base_path():
    rec = Recorder(httpx.Response(201, json=TICKET))
    ticket = await book(rec, timeout=3.5)
    assert ticket.reference == "CT-4F9K2M7Q"
    req = rec.last
    assert req.method == "POST" and str(req.url) == "http://supplier.test/api/tickets"
    assert req.headers["Idempotency-Key"] == "key-1"
    assert rec.last_json() == {
        "conferenceId": "serverlessdays-amsterdam-2027",
        "traveller": {"name": "Ada", "email": "ada+flaky@example.com"},
    }
    assert req.extensions["timeout"]["read"] == 3.5


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_5xx_and_408_are_transient(status):
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(problem(status, "unavailable")))
    assert err.value.status == status and err.value.retry_after is None and err.value.supplier == "conference"


async def test_429_carries_retry_after_seconds():
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(problem(429, "rate_limited", headers={"Retry-After": "7"})))
    assert err.value.retry_after == 7.0 and err.value.code == "rate_limited"


async def test_503_with_an_http_date_retry_after():
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(problem(503, "unavailable", headers={"Retry-After": later})))
    assert err.value.retry_after is not None and 60 < err.value.retry_after <= 120


def test_parse_retry_after_edge_cases():
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("nan") is None
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Fri, 01 Jan 2027 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 31 Dec 2026 23:59:00 GMT", now) == 0.0


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("eof"),
    ],
)
async def test_transport_failures_are_transient(exc):
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(exc))
    assert err.value.status is None and err.value.retry_after is None


@pytest.mark.parametrize(
    ("exc", "unknown"),
    [
        # Never reached the supplier: nothing can have been booked.
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow handshake"), False),
        (httpx.PoolTimeout("no free connection"), False),
        # Sent (or maybe sent), no answer: the supplier may have booked.
        (httpx.ReadTimeout("slow"), True),
        (httpx.WriteTimeout("slow"), True),
        (httpx.ReadError("reset"), True),
        (httpx.WriteError("broken pipe"), True),
        (httpx.RemoteProtocolError("server disconnected"), True),
    ],
)
async def test_a_failure_after_the_request_may_have_been_sent_is_outcome_unknown(exc, unknown):
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(exc))
    assert err.value.outcome_unknown is unknown


async def test_an_answer_is_never_outcome_unknown():
    with pytest.raises(SupplierUnavailable) as err:
        await book(Recorder(problem(503, "unavailable", "down")))
    assert err.value.outcome_unknown is False


async def test_business_outcome_is_a_result():
    result = await book(Recorder(problem(404, "conference_not_found", "no such conference")))
    assert result == Rejected(
        supplier="conference",
        code=RejectionCode.CONFERENCE_NOT_FOUND,
        status=404,
        detail="no such conference",
    )


@pytest.mark.parametrize(
    "answer",
    [
        problem(422, "validation_error"),
        problem(422, "idempotency_key_reused"),
        problem(400, "idempotency_key_required"),
        problem(404, "not_found"),  # a wrong base URL is not "conference not found"
        problem(409, "sold_out"),  # a code this call does not expect
        httpx.Response(403, text="<html>forbidden</html>"),
    ],
)
async def test_unexpected_4xx_is_a_protocol_error(answer):
    with pytest.raises(SupplierProtocolError) as err:
        await book(Recorder(answer))
    assert err.value.status == answer.status_code


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, text="not json"),
        httpx.Response(201, json={"reference": "CT-1"}),
        httpx.Response(200, json=[TICKET]),
    ],
)
async def test_unreadable_success_is_a_protocol_error(answer):
    with pytest.raises(SupplierProtocolError, match="unreadable"):
        await book(Recorder(answer))


async def test_base_url_with_trailing_slash_and_path_quoting():
    rec = Recorder(httpx.Response(200, json=TICKET))
    async with rec.client("http://supplier.test/conference/") as http:
        await ConferenceClient(http).get("CT-1/../x")
    assert rec.last.url.raw_path == b"/conference/tickets/CT-1%2F..%2Fx"


async def test_without_an_override_the_injected_clients_timeouts_apply():
    rec = Recorder(httpx.Response(201, json=TICKET))
    async with httpx.AsyncClient(
        base_url="http://supplier.test/api",
        transport=httpx.MockTransport(rec),
        timeout=httpx.Timeout(2.0, connect=1.0),
    ) as http:
        await ConferenceClient(http).book("serverlessdays-amsterdam-2027", ADA, idempotency_key="k")
    assert rec.last.extensions["timeout"] == {"connect": 1.0, "read": 2.0, "write": 2.0, "pool": 2.0}
