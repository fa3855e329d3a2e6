"""Every operation of the OpenAPI document, fuzzed by schemathesis against the running system (loopback,
a bounded number of examples per operation): no 5xx, and no status code the document does not list.

Driven from code (not schemathesis' pytest plugin) so one test covers every operation the document
lists, whatever it lists, against the module's devhost.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e

# Per operation and mode (positive, negative): seven operations run in about 25 s on a shared 2-core
# machine; 30 was too few for the negative cases to reach a cancel body with a bad reason.
EXAMPLES_PER_OPERATION = 100

# An operation of any schema: its parameter, response and schema types are the loaded document's.
Operation = APIOperation[Any, Any, Any, Any]


def fuzz(operation: Operation, mode: GenerationMode, base_url: str) -> tuple[int, list[str]]:
    """(calls made, failures found) for one operation in one generation mode."""
    failures: list[str] = []
    calls = 0

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case[Operation]) -> None:
        nonlocal calls
        response = case.call(base_url=base_url, timeout=30)
        calls += 1
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
        except (AssertionError, BaseExceptionGroup) as exc:  # collected: the test lists every one
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            for failure in found:
                title = (str(failure).strip() or type(failure).__name__).splitlines()[0]
                failures.append(f"{operation.label} ({mode}) -> {response.status_code}: {title}")

    try:
        exercise()
    except Unsatisfiable:
        # An operation with no parameters and no body (health) has nothing to break.
        assert mode is GenerationMode.NEGATIVE, operation.label
    return calls, failures


def test_every_operation_answers_no_5xx_and_only_documented_codes(devhost: DevhostProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{devhost.base_url}/api/openapi.json")
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result.err()}"
        operations.append(result.ok())
    paths = schema.raw_schema["paths"]
    listed = {f"{method.upper()} {path}" for path, item in paths.items() for method in item}
    # Loaded from a URL, schemathesis leaves out the operation that serves the document itself.
    assert {op.label for op in operations} == listed - {"GET /api/openapi.json"}

    failures: list[str] = []
    for operation in operations:
        # Positive cases fit the document; negative ones break it (wrong types, unknown fields, bad
        # headers), which is where undocumented 4xx codes hide.
        results = [fuzz(operation, mode, devhost.base_url) for mode in GenerationMode]
        assert sum(calls for calls, _ in results) > 0, operation.label
        failures += [failure for _, found in results for failure in found]

    assert failures == [], "\n".join(sorted(set(failures)))
