"""Indexing a function app like the worker: get_functions once, durable names, triggers, HTTP bindings."""

from __future__ import annotations

import types

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.app_index import AppIndexError, find_app, index_app
from tests.devhost.engine import sample_app


def test_durable_names_and_case_insensitive_lookup() -> None:
    idx = index_app(sample_app.app)
    assert idx is index_app(sample_app)  # cached per app object: get_functions() ran once
    act = idx.activity("Renamed_Override")
    assert act is not None and act.name == "renamed_override" and act.function_name == "RenamedActivity"
    assert act.input_name == "payload" and not act.is_async
    async_double, with_context = idx.activity("async_double"), idx.activity("with_context")
    assert async_double is not None and async_double.is_async
    assert with_context is not None and with_context.wants_context
    assert idx.orchestrator("ECHO_INPUT") is not None and idx.activity("RenamedActivity") is None


def test_http_functions_with_bindings() -> None:
    idx = index_app(sample_app.app)
    (fn,) = idx.http_functions
    assert (fn.function_name, fn.route, fn.methods, fn.auth_level) == (
        "http_start",
        "start/{name}",
        ("POST",),
        "ANONYMOUS",
    )
    assert fn.client_name == "client" and fn.trigger_name == "req" and fn.is_async
    assert {"direction": "OUT", "type": "http", "name": "$return"} in fn.bindings


def test_orchestrator_trigger_must_be_named_context() -> None:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="ctx")
    def orch(ctx):
        yield ctx.call_activity("a")

    with pytest.raises(AppIndexError, match="must be named 'context'"):
        index_app(app)


def test_exactly_one_app_per_module() -> None:
    two = types.ModuleType("two")
    vars(two).update(a=func.FunctionApp(), b=df.DFApp())
    with pytest.raises(AppIndexError, match="More than one"):
        find_app(two)
    with pytest.raises(AppIndexError, match="Could not find"):
        find_app(types.ModuleType("none"))


def test_duplicate_durable_names_are_refused() -> None:
    app = df.DFApp()

    @app.activity_trigger(input_name="x")
    def one(x):
        return x

    @app.function_name("two")
    @app.activity_trigger(input_name="x", activity="ONE")
    def two(x):
        return x

    with pytest.raises(AppIndexError, match="Duplicate activity name"):
        index_app(app)
