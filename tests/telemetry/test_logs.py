"""telemetry.logs: one line format with the booking, instance, invocation and trace ids a line has."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

import telemetry
from suppliers.base import joined_trace
from telemetry.context import install_log_context
from telemetry.logs import JsonFormatter, TextFormatter, install_log_format

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class _Trace:
    trace_parent = f"00-{TRACE}-00f067aa0ba902b7-01"
    trace_state = ""


@pytest.fixture
def console() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with a plain console handler of the devhost kind, records carrying the context fields."""
    install_log_context()
    out = io.StringIO()
    logger = logging.getLogger(f"tests.telemetry.{id(out)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_text_lines_keep_the_handlers_format_and_end_with_what_they_are_about(
    console: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = console
    assert install_log_format("text", logger) == 1
    assert install_log_format("text", logger) == 0  # once
    logger.info("outside")
    with joined_trace(_Trace()), telemetry.scope(
        booking_id="bk_1", instance_id="bk_1:trip:0", trip=0, invocation_id="inv-1", supplier="airline"
    ):
        logger.info("booked %s", "flight")
    outside, inside = out.getvalue().splitlines()
    assert outside == f"INFO {logger.name}: outside"
    assert inside == (
        f"INFO {logger.name}: booked flight {{booking=bk_1 trip=0 instance=bk_1:trip:0 supplier=airline "
        f"invocation=inv-1 trace={TRACE}}}"
    )


def test_a_traceback_follows_the_fields_on_the_lines_after_the_message(
    console: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = console
    install_log_format("text", logger)
    with telemetry.scope(booking_id="bk_2"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    first, *rest = out.getvalue().splitlines()
    assert first.endswith("failed {booking=bk_2}")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "RuntimeError: boom"


def test_json_lines_are_one_object_each_with_the_fields_under_their_span_names(
    console: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = console
    install_log_format("json", logger)
    with joined_trace(_Trace()), telemetry.scope(booking_id="bk_3", trip=2, function="book_hotel"):
        logger.warning("sold out")
        try:
            raise ValueError("bad")
        except ValueError:
            logger.exception("failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["level"] == "WARNING" and first["logger"] == logger.name and first["message"] == "sold out"
    assert first["booking.id"] == "bk_3" and first["booking.trip"] == 2 and first["faas.name"] == "book_hotel"
    assert first["trace_id"] == TRACE and len(first["span_id"]) == 16
    assert first["time"].endswith("+00:00")
    assert lines[1]["exception"].splitlines()[-1] == "ValueError: bad"


def test_a_hosts_function_and_invocation_given_as_extra_are_json_fields_and_not_repeated_in_text(
    console: tuple[logging.Logger, io.StringIO],
) -> None:
    """devhost's Executing/Executed lines pass them so (devhost/execlog.py); the text line already says
    them in its message."""
    logger, out = console
    host = {"faas.name": "book_flight", "faas.invocation_id": "inv-9"}
    install_log_format("json", logger)
    logger.info("Executing 'Functions.book_flight' (Reason='(null)', Id=inv-9)", extra=host)
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["faas.name"], line["faas.invocation_id"]) == ("book_flight", "inv-9")

    text_logger = logging.getLogger(f"{logger.name}.text")
    text_logger.propagate = False
    text_out = io.StringIO()
    text_logger.addHandler(logging.StreamHandler(text_out))
    install_log_format("text", text_logger)
    text_logger.warning("Executed 'Functions.book_flight' (Failed, Id=inv-9, Duration=3ms)", extra=host)
    assert text_out.getvalue().rstrip("\n").endswith("(Failed, Id=inv-9, Duration=3ms)")


def test_only_plain_console_handlers_get_the_format() -> None:
    class Forwarding(logging.Handler):  # the Functions worker's kind: records go to the host
        def emit(self, record: logging.LogRecord) -> None:
            pass

    class Capture(logging.StreamHandler):  # type: ignore[type-arg]  # a test's capture
        pass

    logger = logging.getLogger("tests.telemetry.handlers")
    handlers = [Forwarding(), Capture(io.StringIO()), logging.StreamHandler(io.StringIO())]
    for handler in handlers:
        logger.addHandler(handler)
    try:
        assert install_log_format("json", logger) == 1
        assert [type(h.formatter) for h in handlers] == [type(None), type(None), JsonFormatter]
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    assert not isinstance(handlers[0].formatter, TextFormatter)
