"""Vector 11: what the worker's trigger converters do with activity inputs and return values."""

import json
import sys
from pathlib import Path

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter

from tests.devhost.engine.vectors.recorder.versions import FUNCTIONS


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def to_json(self):
        return {"x": self.x, "y": self.y}

    @classmethod
    def from_json(cls, d):
        return cls(d["x"], d["y"])

    def __repr__(self):
        return f"Point({self.x},{self.y})"


sys.modules["vec_points"] = sys.modules[__name__]
Point.__module__ = "vec_points"


def record(out: Path) -> None:
    rows = []
    for typ, val in [
        ("string", '"Tokyo"'),
        ("json", '"Tokyo"'),
        ("string", '{"a": 1, "b": [1, 2]}'),
        ("string", "null"),
        ("string", "5"),
        ("string", "not json at all"),
        ("string", '{"__class__": "Point", "__module__": "vec_points", "__data__": {"x": 1, "y": 2}}'),
    ]:
        r = ActivityTriggerConverter.decode(meta.Datum(type=typ, value=val), trigger_metadata=None)
        rows.append({"datum_type": typ, "datum_value": val, "python_value_passed_to_activity": repr(r)})
    enc = []
    for v in ["Hello Tokyo!", {"a": 1}, None, 42, [1, "x"], Point(3, 4)]:
        d = ActivityTriggerConverter.encode(v, expected_type=None)
        enc.append({"python_return_value": repr(v), "datum_type": d.type, "datum_value": d.value})
    o = OrchestrationTriggerConverter.encode('{"isDone": false}', expected_type=None)
    doc = {
        "title": "Activity trigger value contract (what the worker converter does; a host calling activities directly must do the same)",
        "sdk": f"azure-functions {FUNCTIONS} ActivityTriggerConverter / OrchestrationTriggerConverter",
        "decode_input_examples": rows,
        "encode_return_examples": enc,
        "orchestrator_return_encoding": {
            "handle_returns": '{"isDone": false}',
            "datum_type": o.type,
            "datum_value": o.value,
        },
        "notes": [
            "The activity receives df_loads(<JSON text>) with a fallback to the raw string when the text is not JSON.",
            "The <JSON text> is exactly the 'input' string from the orchestrator's CallActivity action (df_dumps of the value).",
            "The activity's return value is df_dumps'ed; that JSON text becomes TaskCompleted.Result.",
            'Custom classes need to_json()/from_json(); they travel as {"__class__","__module__","__data__"} envelopes and decoding requires the module to be already imported (sys.modules).',
        ],
    }
    with open(out / "11_activity_value_contract.json", "w") as f:
        json.dump(doc, f, indent=2)
