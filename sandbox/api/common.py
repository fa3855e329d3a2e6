"""What every API handler shares: the route table entry, body and header parsing, idempotency.

A handler reads its input only through these helpers, so every malformed request gets the same
precise 4xx, and every create follows the same idempotency rules.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from sandbox import catalog
from sandbox.faults import Faults
from sandbox.problems import ProblemError, field_errors, validation_problem
from sandbox.provider import PaymentProvider
from sandbox.settings import Settings
from sandbox.store import Store
from sandbox.wire import FieldError, Money

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REF_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Services:
    """The long-lived objects handlers need, stored once on the aiohttp application."""

    store: Store
    settings: Settings
    faults: Faults
    provider: PaymentProvider


SERVICES = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


@dataclass(frozen=True)
class Route:
    """One operation: how aiohttp routes it and how the OpenAPI document describes it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_is_list: bool = False
    success: int = 200
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, bool, str], ...] = ()  # (name, required, description)
    idempotent_create: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def catalog_price(amount: Decimal) -> Money:
    """A price from the catalog; the whole catalog is priced in one currency."""
    return Money(amount=amount, currency=catalog.CURRENCY)


def new_reference(prefix: str, length: int = 8) -> str:
    """A random id: supplier references carry 8 characters, payment and refund ids 12."""
    return prefix + "".join(secrets.choice(_REF_ALPHABET) for _ in range(length))


def idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise ProblemError(400, "idempotency_key_required", "every create needs an Idempotency-Key header")
    if not _KEY.match(key):
        raise ProblemError(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters"
        )
    return key


def _no_constants(name: str) -> object:
    # json.loads accepts NaN and Infinity by default; they are not JSON and no field wants them.
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; which one a supplier would honour is anyone's guess,
    # so an ambiguous body is refused rather than read one way here and another way elsewhere.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate key {name!r}")
        result[name] = value
    return result


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON object body; every failure is a precise 4xx."""
    if request.content_type != "application/json":
        raise ProblemError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    if not raw.strip():
        raise ProblemError(400, "malformed_request", "a JSON object body is required")
    try:
        data = json.loads(raw, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(400, "malformed_request", f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a 1 MiB body can nest deep enough to exhaust the parser's stack
        raise ProblemError(400, "malformed_request", "body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise ProblemError(400, "malformed_request", "body must be a JSON object")
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(field_errors(exc)) from exc
    check: Callable[[], list[FieldError]] | None = getattr(parsed, "cross_field_errors", None)
    if check is not None and (errors := check()):
        raise validation_problem(errors)
    return parsed


def fingerprint(model: BaseModel) -> str:
    """A digest of the validated request, so formatting differences do not count as another body."""
    canonical = json.dumps(
        model.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Keyed(Protocol):
    @property
    def fingerprint(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


def replayed(existing: K | None, digest: str) -> K | None:
    """What was stored under a repeated Idempotency-Key (answer it again), or None for a first request;
    the same key with another body is 422."""
    if existing is not None and existing.fingerprint != digest:
        raise ProblemError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    return existing


def query_param(request: web.Request, name: str, pattern: str | None = None) -> str:
    value = request.query.get(name)
    if value is None or value == "":
        raise ProblemError(400, "malformed_request", f"query parameter '{name}' is required")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ProblemError(400, "malformed_request", f"query parameter '{name}' is malformed")
    return value


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON answer; a wire model, or a list of them, is sent camelCase as the OpenAPI document says."""
    body = [_plain(item) for item in body] if isinstance(body, list) else _plain(body)
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
