"""Validating what a caller sent against a booking/ model, with every invalid field named.

Only input validated here becomes a 422: a pydantic error anywhere else is our bug (a 500), so it
must not reach the caller dressed up as their mistake.
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from clients.errors import FieldError, InvalidFields

_M = TypeVar("_M", bound=BaseModel)


def field_path(loc: Sequence[str | int]) -> str:
    """pydantic's loc ('trips', 0, 'origin') as the contract's "trips[0].origin"."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Every invalid field, once per message, in pydantic's order; never the input values."""
    seen: set[tuple[str, str]] = set()
    result: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        item = (field_path(error.get("loc", ())), message)
        if item not in seen:
            seen.add(item)
            result.append(FieldError(*item))
    return result


def validate_input(model: type[_M], document: Any) -> _M:
    """`model` from the caller's JSON document, or `InvalidFields` naming every bad field."""
    try:
        # Strict: JSON types are part of the contract ("hotel": "yes" or 1 is not a boolean, 978 is not
        # a currency); lax mode would quietly turn them into something the caller did not send.
        # By alias only: the contract's names are camelCase; `conference_id` is an unknown field (422),
        # although models built in Python (and history) may use the snake_case names.
        return model.model_validate(document, strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise InvalidFields(field_errors(exc)) from None
