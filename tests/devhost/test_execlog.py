"""The host's Executing/Executed lines (PROTOCOL.md §32), as devhost writes them around an activity."""

from __future__ import annotations

import logging
import re

import pytest

from devhost.engine.activity import run_activity


async def _run(fn) -> None:
    await run_activity(
        "book_flight",
        fn,
        input_text='"BER"',
        input_name="origin",
        is_async=False,
        wants_context=False,
        executor=None,
        function_name="book_flight_fn",
    )


async def test_a_successful_activity_is_executing_then_executed_succeeded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await _run(lambda origin: f"booked from {origin}")
    lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("Function.")]
    assert len(lines) == 2
    (cat1, level1, executing), (cat2, level2, executed) = lines
    assert cat1 == cat2 == "Function.book_flight_fn" and level1 == level2 == logging.INFO
    executing_line = r"Executing 'Functions\.book_flight_fn' \(Reason='\(null\)', Id=([0-9a-f-]{36})\)"
    invocation = re.fullmatch(executing_line, executing)
    assert invocation is not None
    executed_line = (
        rf"Executed 'Functions\.book_flight_fn' \(Succeeded, Id={invocation.group(1)}, Duration=\d+ms\)"
    )
    assert re.fullmatch(executed_line, executed)


async def test_a_failed_attempt_is_executed_failed_at_error_with_its_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(origin: str) -> str:
        raise RuntimeError("airline: HTTP 503")

    caplog.set_level(logging.INFO)
    await _run(boom)
    prefix = "Executed 'Functions.book_flight_fn' (Failed"
    failed = [r for r in caplog.records if r.getMessage().startswith(prefix)]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert failed[0].exc_info is not None and str(failed[0].exc_info[1]) == "airline: HTTP 503"
