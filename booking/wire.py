"""The base of every model that crosses a boundary (HTTP, orchestration history, activity input/output).

camelCase on the wire, snake_case in Python, either accepted on input.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """camelCase JSON on the wire; `to_wire()` is what goes into history, activity I/O and responses."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
    )

    def to_wire(self) -> dict[str, Any]:
        """Plain JSON-ready dict (decimals as strings, datetimes as ISO text, camelCase keys)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Validate what came back from the wire (a dict, or the JSON text of one)."""
        if isinstance(data, str | bytes):
            return cls.model_validate_json(data)
        return cls.model_validate(data)
