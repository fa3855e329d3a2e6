"""The OpenAPI 3.1 document: it covers every registered endpoint and its schemas accept what the API
accepts and answers (checked with a JSON Schema 2020-12 validator over the document's components)."""

from __future__ import annotations

import json
import re

import azure.durable_functions as df
import azure.functions as func
import jsonschema
import pytest

import clients
from clients.openapi import document
from clients.problems import Problem, to_problem
from clients.views import booking_resource
from devhost.http.routes import RouteTemplate
from tests.clients.support import body_of, invoke, request
from tests.clients.test_views import AWAITING, BOOKING_ID, status

GOOD = {
    "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}],
    "currency": "EUR",
}


def validator(component: str) -> jsonschema.Draft202012Validator:
    doc = document()
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_every_registered_route_and_method_is_documented() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(clients.bp)
    documented = {(path, method.upper()) for path, ops in document()["paths"].items() for method in ops}
    registered = set()
    for f in app.get_functions():
        trigger = next(json.loads(b) for b in f.get_raw_bindings() if '"httpTrigger"' in b)
        # A route that matches only the empty path (GET /api's) is served at the prefix itself.
        matches_only_empty = RouteTemplate(trigger["route"]).match("") is not None
        path = "/api" if matches_only_empty else "/api/" + trigger["route"]
        for method in trigger["methods"]:
            registered.add((path, method))
    assert documented == registered


def test_anonymous_operations_are_exactly_the_webhook_and_health() -> None:
    anonymous = {
        (p, m) for p, ops in document()["paths"].items() for m, op in ops.items() if op.get("security") == []
    }
    assert anonymous == {("/api/webhooks/payments", "post"), ("/api/health", "get")}


def test_every_reference_resolves() -> None:
    text = json.dumps(document())
    schemas = document()["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert refs and refs <= set(schemas)


def test_the_request_schema_accepts_a_good_booking_and_refuses_bad_ones() -> None:
    check = validator("BookingRequest")
    check.validate(GOOD)
    for bad in (
        {**GOOD, "trips": []},
        {**GOOD, "coupon": "x"},
        {**GOOD, "trips": [{"conferenceId": "x", "origin": "ber"}]},
        {"trips": GOOD["trips"]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(bad)


def test_a_rendered_booking_matches_the_resource_schema() -> None:
    wire = booking_resource(BOOKING_ID, status("Running", custom=AWAITING)).to_wire()
    validator("BookingResource").validate(wire)


@pytest.mark.parametrize("exc", [ValueError("x"), KeyError("y")])
def test_problems_match_the_problem_schema(exc: Exception) -> None:
    problem: Problem = to_problem(exc)
    validator("Problem").validate(problem.body())


async def test_the_endpoint_serves_the_document() -> None:
    response = await invoke("openapi_document", request("GET", "openapi.json"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    served = body_of(response)
    assert served["openapi"] == "3.1.0" and served == json.loads(json.dumps(document()))


async def test_get_api_lists_every_route_and_links_the_document() -> None:
    response = await invoke("api_index", request("GET", ""))
    assert response.status_code == 200
    served = json.loads(response.get_body())
    assert served["openapi"] == "/api/openapi.json"
    listed = {(r["method"], r["path"]) for r in served["routes"]}
    documented = {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}
    assert listed == documented and ("GET", "/api/bookings/{bookingId}/events") in listed


def test_the_index_route_matches_the_bare_prefix_only() -> None:
    template = RouteTemplate("{index:maxlength(0)?}")
    assert template.match("") is not None
    assert template.match("bookings") is None and template.match("x") is None
