"""The OpenAPI 3.1 document of the sandbox, built from the route table and the wire models,
so the document cannot drift from what the handlers accept and answer.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sandbox.api.common import Route
from sandbox.wire import Problem

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Bad request",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Unavailable",
}


def build(routes: list[Route]) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for r in routes:
        if r.body is not None:
            wanted.append((r.body, "validation"))
        if r.response is not None:
            wanted.append((r.response, "serialization"))
    keyed, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template="#/components/schemas/{model}")
    problem_ref = keyed[(Problem, "serialization")]
    problem = {"application/problem+json": {"schema": problem_ref}}

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        params: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", r.path)
        ]
        params += [
            {"name": n, "in": "query", "required": req, "description": d, "schema": {"type": "string"}}
            for n, req, d in r.query
        ]
        if r.idempotent_create:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "description": "1-255 visible ASCII; the same key and body answer the same resource",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "parameters": params, "responses": {}}
        if r.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keyed[(r.body, "validation")]}},
            }
        success: dict[str, Any] = {"description": _REASONS.get(r.success, "Success")}
        if r.response is not None:
            schema = keyed[(r.response, "serialization")]
            success["content"] = {
                "application/json": {
                    "schema": {"type": "array", "items": schema} if r.response_is_list else schema
                }
            }
        op["responses"][str(r.success)] = success
        if r.idempotent_create:
            op["responses"]["200"] = {
                "description": "Replay of the same Idempotency-Key and body",
                **({"content": success["content"]} if "content" in success else {}),
            }
        for status in r.errors:
            op["responses"][str(status)] = {"description": _REASONS.get(status, "Error"), "content": problem}
        paths.setdefault(r.path, {})[r.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conference-trip supplier sandbox",
            "version": "1.0.0",
            "description": "Local stand-ins for the conference, airline, rail, hotel, payment and expense "
            "APIs. See sandbox/README.md.",
        },
        "servers": [{"url": "http://127.0.0.1:7080"}],
        "paths": paths,
        "components": {"schemas": top.get("$defs", {})},
    }
