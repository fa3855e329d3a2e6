"""One log line format for the app and whatever hosts it: readable text, or JSON when LOG_FORMAT=json.

Every line says what it is about when it knows: booking id, orchestration instance, function invocation
and trace (the fields `telemetry.context` puts on each record). Text keeps the handler's own format and
adds them at the end; JSON is one object per line with the same fields, for a log pipeline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

# Field → its label on a text line, in the order they are printed.
_TEXT_LABELS = {
    "booking.id": "booking",
    "booking.trip": "trip",
    "booking.instance_id": "instance",
    "supplier.name": "supplier",
    "faas.name": "function",
    "faas.invocation_id": "invocation",
    "trace_id": "trace",
}
_DEFAULT_TEXT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


# Fields a host puts on its own records (logging's `extra`), under the names the app's scope uses: devhost's
# Executing/Executed lines name their function and invocation so. A JSON line carries them as fields; a
# text line already says them in its message.
_HOST_FIELDS = ("faas.name", "faas.invocation_id")


def _fields(record: logging.LogRecord) -> Mapping[str, str | int]:
    fields = getattr(record, "telemetry", None)
    return fields if isinstance(fields, Mapping) else {}


def _host_fields(record: logging.LogRecord) -> dict[str, str]:
    return {key: value for key in _HOST_FIELDS if isinstance(value := getattr(record, key, None), str)}


class TextFormatter(logging.Formatter):
    """The handler's own line, then ` {booking=… trip=… instance=… invocation=… trace=…}` when known."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        known = [f"{label}={fields[key]}" for key, label in _TEXT_LABELS.items() if key in fields]
        if not known:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} {{{' '.join(known)}}}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_host_fields(record),
            **_fields(record),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        return json.dumps(document, ensure_ascii=False, default=str)


def formatter(log_format: str | None, base: logging.Formatter | None = None) -> logging.Formatter:
    """`json` → JsonFormatter; anything else → TextFormatter over `base`'s format (or the default)."""
    if (log_format or "").strip().lower() == "json":
        return JsonFormatter()
    fmt = getattr(base, "_fmt", None) or _DEFAULT_TEXT
    datefmt = getattr(base, "datefmt", None)
    return TextFormatter(fmt, datefmt)


def install_log_format(log_format: str | None, logger: logging.Logger | None = None) -> int:
    """Give the console handlers of `logger` (the root by default) the one format; the number changed.

    Only plain stream handlers (a console, as devhost and `python -m` set up) are changed: a handler of
    its own kind (the Functions worker's, which forwards records to the host; a test's capture) keeps
    its format, and still receives records that carry the fields."""
    target = logger or logging.getLogger()
    changed = 0
    for handler in target.handlers:
        if type(handler) is logging.StreamHandler and not isinstance(
            handler.formatter, TextFormatter | JsonFormatter
        ):
            handler.setFormatter(formatter(log_format, handler.formatter))
            changed += 1
    return changed
