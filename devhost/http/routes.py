"""ASP.NET-style route templates, as the Functions host matches HTTP trigger routes.

Supports literals (case-insensitive), `{name}`, optional `{name?}`, defaults `{name=value}`, inline
constraints `{name:int}` (several allowed, `{n:int:min(1)}`) and catch-alls `{*rest}` / `{**rest}`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

_PARAM = re.compile(r"\{([^{}]*)\}")
_CONSTRAINT = re.compile(r"^(\w+)(?:\((.*)\))?$")


class RouteTemplateError(ValueError):
    """The template cannot be parsed; the host refuses such a function at startup."""


def _is_int(v: str, bits: int) -> bool:
    try:
        n = int(v, 10)
    except ValueError:
        return False
    return -(2 ** (bits - 1)) <= n < 2 ** (bits - 1) and v.strip() == v


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return v.lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def _is_guid(v: str) -> bool:
    try:
        uuid.UUID(v.strip("{}()"))
    except ValueError:
        return False
    return True


def _is_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def _constraint(name: str, arg: str | None) -> Callable[[str], bool]:
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _is_int(v, 32),
        "long": lambda v: _is_int(v, 64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "double": _is_float,
        "float": _is_float,
        "decimal": _is_float,
        "datetime": _is_datetime,
    }
    key = name.lower()
    if key in simple and arg is None:
        return simple[key]
    if arg is None:
        raise RouteTemplateError(f"unknown route constraint {name!r}")
    args = [a.strip() for a in arg.split(",")]
    try:
        if key == "minlength":
            return lambda v: len(v) >= int(args[0])
        if key == "maxlength":
            return lambda v: len(v) <= int(args[0])
        if key == "length":
            if len(args) == 1:
                return lambda v: len(v) == int(args[0])
            return lambda v: int(args[0]) <= len(v) <= int(args[1])
        if key in ("min", "max", "range"):
            lo = int(args[0]) if key in ("min", "range") else None
            hi = int(args[-1]) if key in ("max", "range") else None
            return lambda v: _is_int(v, 64) and (lo is None or int(v) >= lo) and (hi is None or int(v) <= hi)
        if key == "regex":
            pattern = re.compile(arg, re.IGNORECASE)
            return lambda v: pattern.search(v) is not None
    except (ValueError, re.error) as exc:
        raise RouteTemplateError(f"bad argument in route constraint {name}({arg})") from exc
    raise RouteTemplateError(f"unknown route constraint {name!r}")


@dataclass
class _Param:
    name: str
    group: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    checks: list[Callable[[str], bool]] = field(default_factory=list)


def _split_constraints(body: str) -> list[str]:
    """Split `name:c1(a:b):c2` on colons outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


class RouteTemplate:
    """One compiled template; `match(path)` gives the route values or None."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self.params: list[_Param] = []
        rank: list[int] = []
        pattern = ""
        segments = self.template.split("/") if self.template else []
        for index, segment in enumerate(segments):
            if not segment:
                raise RouteTemplateError(f"route {template!r} has an empty segment")
            pieces = _PARAM.split(segment)
            literal_parts, names = pieces[0::2], pieces[1::2]
            if "{" in "".join(literal_parts) or "}" in "".join(literal_parts):
                raise RouteTemplateError(f"route {template!r} has unbalanced braces")
            if not names:
                pattern += "/" + re.escape(segment)
                rank.append(0)
                continue
            whole = len(names) == 1 and literal_parts == ["", ""]
            seg_pattern = ""
            seg_rank = 1
            for lit, body in zip(literal_parts, names + [None], strict=True):
                seg_pattern += re.escape(lit)
                if body is None:
                    continue
                param = self._parse_param(body, template)
                if param.catch_all:
                    if index != len(segments) - 1 or not whole:
                        raise RouteTemplateError(f"catch-all must be the last segment in {template!r}")
                    seg_rank = 4
                    seg_pattern += f"(?P<{param.group}>.*)"
                else:
                    if param.optional and not whole:
                        # ASP.NET allows optional only as the last piece of a complex segment; keep it simple.
                        seg_pattern += f"(?P<{param.group}>[^/]*?)"
                    else:
                        seg_pattern += f"(?P<{param.group}>[^/]+)"
                    seg_rank = max(seg_rank, 2 if not param.checks else 1)
                    if param.optional or param.default is not None:
                        seg_rank = 3
            optional_tail = whole and (
                self.params[-1].optional or self.params[-1].catch_all or self.params[-1].default is not None
            )
            if optional_tail:
                if index != len(segments) - 1:
                    raise RouteTemplateError(f"optional parameter must be at the end of {template!r}")
                pattern += f"(?:/{seg_pattern})?"
            else:
                pattern += "/" + seg_pattern
            rank.append(seg_rank)
        self._regex = re.compile(f"^{pattern}/?$", re.IGNORECASE | re.DOTALL)
        # Lower sorts first: literals beat constrained parameters beat plain, optional and catch-all ones.
        self.precedence: tuple[int, ...] = tuple(rank)

    def _parse_param(self, body: str, template: str) -> _Param:
        catch_all = body.startswith("*")
        body = body.lstrip("*")
        default = None
        if "=" in body:
            body, default = body.split("=", 1)
        parts = _split_constraints(body)
        name = parts[0]
        optional = name.endswith("?")
        name = name.rstrip("?")
        if parts[-1].endswith("?") and len(parts) > 1:
            optional = True
            parts[-1] = parts[-1][:-1]
        if not re.fullmatch(r"\w+", name):
            raise RouteTemplateError(f"bad parameter name {name!r} in route {template!r}")
        if any(p.name.lower() == name.lower() for p in self.params):
            raise RouteTemplateError(f"parameter {name!r} appears twice in route {template!r}")
        checks = []
        for spec in parts[1:]:
            m = _CONSTRAINT.match(spec)
            if not m:
                raise RouteTemplateError(f"bad constraint {spec!r} in route {template!r}")
            checks.append(_constraint(m.group(1), m.group(2)))
        param = _Param(name, f"p{len(self.params)}", optional, catch_all, default, checks)
        self.params.append(param)
        return param

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for a raw (still percent-encoded) path relative to the route prefix."""
        m = self._regex.match("/" + path.strip("/") if path.strip("/") else "")
        if m is None:
            return None
        values: dict[str, str] = {}
        for p in self.params:
            raw = m.group(p.group)
            if raw is None or raw == "":
                if p.default is not None:
                    values[p.name] = p.default
                elif not (p.optional or p.catch_all):
                    return None
                continue
            value = unquote(raw)
            if not all(check(value) for check in p.checks):
                return None
            values[p.name] = value
        return values

    def url_path(self) -> str:
        """The template as func prints it."""
        return self.template
