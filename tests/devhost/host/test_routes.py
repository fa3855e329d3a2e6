"""ASP.NET route templates as the Functions host matches them."""

from __future__ import annotations

import pytest

from devhost.http.routes import RouteTemplate, RouteTemplateError

GUID = "0b6a2a6e-3c1e-4a8e-9f00-1d2c3b4a5f60"


@pytest.mark.parametrize(
    ("template", "path", "values"),
    [
        ("bookings/{id}", "/bookings/abc", {"id": "abc"}),
        ("bookings/{id}", "/BOOKINGS/abc/", {"id": "abc"}),
        ("bookings/{id}", "/bookings", None),
        ("bookings/{id?}", "/bookings", {}),
        ("bookings/{id=all}", "/bookings", {"id": "all"}),
        ("items/{n:int}", "/items/12", {"n": "12"}),
        ("items/{n:int}", "/items/1x", None),
        ("items/{n:int:min(3)}", "/items/2", None),
        ("items/{n:range(1,5)}", "/items/5", {"n": "5"}),
        ("items/{g:guid}", f"/items/{GUID}", {"g": GUID}),
        ("items/{s:alpha:length(2,3)}", "/items/abcd", None),
        ("items/{s:regex(^a.c$)}", "/items/abc", {"s": "abc"}),
        ("files/{*rest}", "/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{**rest}", "/files", {}),
        ("a/{x}-{y}", "/a/1-2", {"x": "1", "y": "2"}),
        ("q/{id}", "/q/a%20b", {"id": "a b"}),
        ("", "", {}),
    ],
)
def test_matches(template: str, path: str, values: dict[str, str] | None) -> None:
    assert RouteTemplate(template).match(path) == values


@pytest.mark.parametrize("template", ["a/{*rest}/b", "a/{id?}/b", "a/{id:nope}", "a/{x}/{x}", "a//b", "a/{b"])
def test_rejected_templates(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate(template)


def test_precedence_orders_literal_constrained_plain_catch_all() -> None:
    templates = ["items/{*rest}", "items/{name}", "items/{id:int}", "items/special"]
    ordered = sorted(templates, key=lambda t: RouteTemplate(t).precedence)
    assert ordered == ["items/special", "items/{id:int}", "items/{name}", "items/{*rest}"]
