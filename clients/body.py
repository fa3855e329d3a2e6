"""Reading a request body at the edge: size cap, content type and strict JSON, in that order.

Nothing here validates business fields (that is the booking/ models' job); it only decides whether
there is a JSON document to validate at all.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from clients.errors import MalformedRequest, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024


def check_size(req: func.HttpRequest) -> bytes:
    """The raw body, refused before anything looks at it when it is over the cap."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted.")
    return body


def is_json_content_type(value: str | None) -> bool:
    """`application/json`, optionally with `charset=utf-8` (any case, any spacing)."""
    if not value:
        return False
    media_type, _, params = value.partition(";")
    if media_type.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset" and val.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8, no NaN/Infinity, no duplicate keys."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("The body is not UTF-8.") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=no_duplicates)
    except RecursionError:
        raise MalformedRequest("The JSON document is nested too deeply.") from None
    except ValueError as exc:
        # json.JSONDecodeError is a ValueError; its message names a position, never the content.
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise MalformedRequest(f"The body is not valid JSON: {reason}.") from None


def read_json(req: func.HttpRequest) -> Any:
    """Size, then content type, then JSON: the order in which a bad request is refused."""
    body = check_size(req)
    if not is_json_content_type(req.headers.get("content-type")):
        raise MalformedRequest("Send the body as application/json.")
    return parse_json(body)
