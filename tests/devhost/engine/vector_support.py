"""Loads the SDK vectors (tests/devhost/engine/vectors/, recorded from the installed SDK) and an app holding
the vector orchestrators (plus the activities and
the ``child`` orchestrator the recorded scenarios imply), for the vector tests."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import azure.durable_functions as df

VECTORS = Path(__file__).resolve().parent / "vectors"
ORCHESTRATOR_VECTORS = [
    "01_chaining.json",
    "02_fan_out_fan_in.json",
    "03_task_any_timer_event.json",
    "04_retry.json",
    "05_sub_orchestrator.json",
    "06_custom_status.json",
    "07_activity_exception.json",
    "08_continue_as_new.json",
    "09_external_events_buffering.json",
    "12_long_timer_v3.json",
]


def load(name: str) -> dict[str, Any]:
    vector = json.loads((VECTORS / name).read_text())
    assert isinstance(vector, dict), f"{name} is not a JSON object"
    return vector


def _load_vec_app() -> Any:
    path = VECTORS / "recorder" / "app.py"
    if "devhost_vec_app" in sys.modules:
        return sys.modules["devhost_vec_app"]
    spec = importlib.util.spec_from_file_location("devhost_vec_app", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["devhost_vec_app"] = mod
    spec.loader.exec_module(mod)
    app = mod.app

    @app.orchestration_trigger(context_name="context")
    def child(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
        n = context.get_input()["n"]
        if n == 2:
            raise ValueError("bad n")
        return {"child_result": n}
        yield  # pragma: no cover - makes it a generator like every orchestrator

    for name in ("say_hello", "get_work_items", "process_item", "flaky", "boom", "noop"):

        def make(n: str) -> Any:
            def activity(value: Any) -> Any:
                raise AssertionError(f"activity {n} must be replaced by a fake in the vector tests")

            activity.__name__ = n
            return activity

        app.activity_trigger(input_name="value")(app.function_name(name)(make(name)))
    return mod


VEC = _load_vec_app()
