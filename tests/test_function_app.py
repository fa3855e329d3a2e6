"""The deployable app: function_app.py indexes as the Python worker indexes it, and the host and
local settings files hold what the contract names (their validity against the published schemas is
checked in tests/infra/test_app_config.py).
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# route, method -> (function name, auth level). Anonymous only for the webhook and health.
HTTP_FUNCTIONS = {
    ("bookings", "POST"): ("start_booking", "FUNCTION"),
    ("bookings", "GET"): ("list_bookings", "FUNCTION"),
    ("bookings/{bookingId}", "GET"): ("get_booking", "FUNCTION"),
    ("bookings/{bookingId}/cancel", "POST"): ("cancel_booking", "FUNCTION"),
    ("bookings/{bookingId}/events", "GET"): ("booking_events", "FUNCTION"),
    ("suppliers", "GET"): ("list_suppliers", "FUNCTION"),
    ("webhooks/payments", "POST"): ("payment_webhook", "ANONYMOUS"),
    ("health", "GET"): ("health", "ANONYMOUS"),
    ("openapi.json", "GET"): ("openapi_document", "FUNCTION"),
    ("{index:maxlength(0)?}", "GET"): ("api_index", "FUNCTION"),
}
ORCHESTRATORS = {"booking", "trip", "undo_trip", "late_payment_refund"}


def _fresh_function_app() -> object:
    """function_app.py loaded as the worker loads it, as a module of its own: `get_functions()` may be
    called once per app object, and other tests (devhost) index the imported `function_app.app`."""
    spec = importlib.util.spec_from_file_location("function_app_as_indexed", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def functions() -> list[dict[str, Any]]:
    """What the worker sends the host for each function: name and raw binding dicts (PROTOCOL.md §1.1)."""
    import azure.functions as func

    function_app = _fresh_function_app()
    registers = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
    assert len(registers) == 1, "the worker allows exactly one FunctionRegister in function_app.py"
    indexed = []
    for f in registers[0].get_functions():
        bindings = [json.loads(b) for b in f.get_raw_bindings()]
        indexed.append({"name": f.get_function_name(), "bindings": bindings})
    return indexed


def _http(functions: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, str, list[dict[str, Any]]]]:
    found = {}
    for f in functions:
        for b in f["bindings"]:
            if b["type"] == "httpTrigger":
                for method in b["methods"]:
                    found[(b["route"], method)] = (f["name"], b["authLevel"], f["bindings"])
    return found


def test_the_app_is_one_dfapp_at_function_level() -> None:
    import azure.durable_functions as df
    import azure.functions as func

    import function_app

    assert isinstance(function_app.app, df.DFApp)
    assert function_app.app.auth_level == func.AuthLevel.FUNCTION


def test_every_endpoint_is_registered_with_its_method_and_auth_level(functions: list[dict[str, Any]]) -> None:
    http = _http(functions)
    assert {key: value[:2] for key, value in http.items()} == HTTP_FUNCTIONS


def test_durable_endpoints_get_the_client_binding_and_nothing_else_is_anonymous(
    functions: list[dict[str, Any]],
) -> None:
    for (route, _method), (name, auth, bindings) in _http(functions).items():
        types = sorted(b["type"] for b in bindings)
        # The OpenAPI document and the index (GET /api) are static: no durable client.
        static = route in ("openapi.json", "{index:maxlength(0)?}")
        expected = ["http", "httpTrigger"] if static else ["durableClient", "http", "httpTrigger"]
        assert types == expected, name
        if auth == "ANONYMOUS":
            assert route in ("webhooks/payments", "health"), name


def test_the_contracts_orchestrators_are_registered(functions: list[dict[str, Any]]) -> None:
    names = set()
    for f in functions:
        for b in f["bindings"]:
            if b["type"] == "orchestrationTrigger":
                # The worker binds by parameter name: the trigger must be named `context` (PROTOCOL.md §1.3).
                assert b["name"] == "context", f["name"]
                names.add(b.get("orchestration") or f["name"])
    assert ORCHESTRATORS <= names


def test_function_names_are_unique(functions: list[dict[str, Any]]) -> None:
    names = [f["name"] for f in functions]
    assert len(names) == len(set(names))


# --- host.json ---------------------------------------------------------------------------------------


def _host() -> dict[str, Any]:
    host = json.loads((ROOT / "host.json").read_text())
    assert isinstance(host, dict), "host.json is not a JSON object"
    return host


def test_host_json_settings_the_contract_names() -> None:
    host = _host()
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert host["extensions"]["http"]["routePrefix"] == "api"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    # Bodies (inputs/outputs hold the traveller's email) never go to the logs.
    assert durable["tracing"]["traceInputsAndOutputs"] is False
    assert (
        durable["maxConcurrentActivityFunctions"] >= 1 and durable["maxConcurrentOrchestratorFunctions"] >= 1
    )


# --- local.settings.json -----------------------------------------------------------------------------


def _values() -> dict[str, str]:
    values = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    assert isinstance(values, dict), "local.settings.json has no Values object"
    return values


def test_local_settings_are_dev_only_and_complete() -> None:
    values = _values()
    assert all(isinstance(v, str) for v in values.values())
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AZURE_FUNCTIONS_ENVIRONMENT"] == "Development"
    assert values["TASKHUB_NAME"].isalnum() and 3 <= len(values["TASKHUB_NAME"]) <= 45
    prefixes = {
        "CONFERENCE": "conference",
        "AIRLINE": "airline",
        "RAIL": "rail",
        "HOTEL": "hotel",
        "PAYMENT": "payment",
        "EXPENSE": "expense",
    }
    for name, prefix in prefixes.items():
        assert values[f"{name}_API_URL"] == f"http://127.0.0.1:7080/{prefix}"
    assert values["PAYMENT_TIMEOUT_SECONDS"] == "900"
    assert [
        values[f"SUPPLIER_RETRY_{k}"]
        for k in ("FIRST_INTERVAL_MS", "BACKOFF", "MAX_INTERVAL_MS", "MAX_ATTEMPTS")
    ] == [
        "1000",
        "2.0",
        "60000",
        "5",
    ]
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:7071"


def test_the_webhook_secret_is_the_dev_only_one_and_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from booking.errors import ConfigurationError
    from booking.settings import DEV_WEBHOOK_SECRET, get_settings

    secret = _values()["PAYMENT_WEBHOOK_SECRET"]
    assert secret == DEV_WEBHOOK_SECRET and "DevOnly" in secret
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24
    for name, value in _values().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert get_settings().is_development
        monkeypatch.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Production")
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_funcignore_keeps_tooling_out_of_the_deployment() -> None:
    lines = {
        line.strip()
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for path in (
        "sandbox/",
        "devhost/",  # the whole package: its pyproject.toml and egg-info live inside it
        "*.egg-info",
        "scripts/",
        "tests/",
        "bench/",
        "infra/",
        ".venv",
        "node_modules",
        ".azurite",
        "local.settings.json",
    ):
        assert path in lines, path
    for shipped in (
        "booking",
        "clients",
        "orchestrators",
        "activities",
        "suppliers",
        "function_app.py",
        "host.json",
        "requirements.txt",
    ):
        assert not any(line.rstrip("/") == shipped for line in lines), shipped
