"""Vector 11: the activity input/output conversions the worker performs, reproduced by devhost."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from devhost.engine.activity import decode_input, encode_output, run_activity
from tests.devhost.engine.vector_support import load


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def to_json(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y}

    @classmethod
    def from_json(cls, d: dict[str, int]) -> Point:
        return cls(d["x"], d["y"])

    def __repr__(self) -> str:
        return f"Point({self.x},{self.y})"


@pytest.fixture(autouse=True)
def vec_points(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = type(sys)("vec_points")
    vars(mod)["Point"] = Point
    monkeypatch.setitem(sys.modules, "vec_points", mod)
    monkeypatch.setattr(Point, "__module__", "vec_points")


DOC = load("11_activity_value_contract.json")


@pytest.mark.parametrize("case", DOC["decode_input_examples"], ids=lambda c: c["datum_value"][:20])
def test_decode_input(case: dict[str, Any]) -> None:
    assert repr(decode_input(case["datum_value"])) == case["python_value_passed_to_activity"]


@pytest.mark.parametrize("case", DOC["encode_return_examples"], ids=lambda c: c["python_return_value"][:20])
def test_encode_output(case: dict[str, Any]) -> None:
    value = eval(case["python_return_value"], {"Point": Point})  # noqa: S307 - trusted reference vector
    # the worker's JSON text, then the extension's compact re-serialization
    assert json.loads(encode_output(value)) == json.loads(case["datum_value"])
    assert encode_output(value) == json.dumps(json.loads(case["datum_value"]), separators=(",", ":"))


def test_unserializable_return_fails_the_activity() -> None:
    out = asyncio.run(
        run_activity(
            "a",
            lambda v: object(),
            input_text="1",
            input_name="v",
            is_async=False,
            wants_context=False,
            executor=None,
        )
    )
    assert not out.ok and out.reason is not None
    assert out.reason.startswith(
        "Activity function 'a' failed:  ValueError: activity trigger output must be json"
    )
    assert json.loads(out.details or "")["Message"].startswith(" ValueError: ")
