"""The two lines the Functions host writes around every function execution (PROTOCOL.md §32):

    Executing 'Functions.<name>' (Reason='<why>', Id=<invocation id>)
    Executed 'Functions.<name>' (Succeeded|Failed, Id=<invocation id>, Duration=<n>ms)

under the logger category ``Function.<name>``; a failure is logged at ERROR with its exception. Durable
triggers have no reason (`(null)`); HTTP functions are "programmatically called via the host APIs".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

HTTP_REASON = "This function was programmatically called via the host APIs."
DURABLE_REASON = "(null)"


class Execution:
    """One execution's log lines; `failed(exc)` before the end marks it Failed."""

    def __init__(self, function_name: str, invocation_id: str, level: int) -> None:
        self.function_name = function_name
        self.invocation_id = invocation_id
        self.level = level
        self.error: BaseException | None = None
        self.logger = logging.getLogger(f"Function.{function_name}")

    def failed(self, exc: BaseException) -> None:
        self.error = exc


@contextmanager
def execution(
    function_name: str, invocation_id: str, reason: str, *, level: int = logging.INFO
) -> Iterator[Execution]:
    """Log Executing now and Executed when the block ends (Failed if it raised or called `failed`)."""
    run = Execution(function_name, invocation_id, level)
    # Also as fields, for a structured log line (the app's LOG_FORMAT=json formatter prints them).
    fields = {"faas.name": function_name, "faas.invocation_id": invocation_id}
    run.logger.log(
        level,
        "Executing 'Functions.%s' (Reason='%s', Id=%s)",
        function_name,
        reason,
        invocation_id,
        extra=fields,
    )
    started = time.monotonic()
    try:
        yield run
    except BaseException as exc:
        run.failed(exc)
        raise
    finally:
        duration = int((time.monotonic() - started) * 1000)
        if run.error is None:
            run.logger.log(
                level,
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
                function_name,
                invocation_id,
                duration,
                extra=fields,
            )
        else:
            run.logger.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
                function_name,
                invocation_id,
                duration,
                exc_info=(type(run.error), run.error, run.error.__traceback__),
                extra=fields,
            )
