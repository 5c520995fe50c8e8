"""docs/api.md against the running code: every route the web app registers, and every
operation, parameter, answer and field of the OpenAPI description it serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from markdown_doc import doc, find_section, names_in_code, sections, table_rows

from mail_sandbox.store import open_store
from mail_sandbox.web import create_web_app
from mail_sandbox.web.openapi import description

API_DOC = doc("api.md")
_ROUTE_HEADING = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE) (/\S*)$")
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
SPEC = description()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
]
SCHEMAS = SPEC["components"]["schemas"]


def normalized(path: str) -> str:
    """A path with its placeholders spelt alike: aiohttp's ``{part_id}`` is OpenAPI's
    ``{PartID}``."""
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1).lower().replace("_", "") + "}", path)


def route_path(resource: web.AbstractResource) -> str:
    if isinstance(resource, web.StaticResource):
        return resource.canonical + "/{path}"
    return resource.canonical


@pytest.fixture(scope="module")
def routes() -> Iterator[set[tuple[str, str]]]:
    """``(method, path)`` of every route the inbox and API register."""
    store = open_store(":memory:")
    try:
        app = create_web_app(store)
        yield {
            (route.method, normalized(unscoped(route_path(route.resource))))
            for route in app.router.routes()
        }
    finally:
        store.close()


def unscoped(path: str) -> str:
    """A mailbox's copy of a route (``/m/{mailbox}/...``) is documented once, unscoped."""
    return path.removeprefix("/m/{mailbox}") if path.startswith("/m/{mailbox}/") else path


def documented_routes() -> dict[tuple[str, str], str]:
    """``(method, path)`` of every ``### METHOD /path`` heading, with its section's text."""
    found = {}
    for section in sections(API_DOC):
        match = _ROUTE_HEADING.match(section.title) if section.level == 3 else None
        if match:
            found[(match.group(1), normalized(match.group(2)))] = section.body
    return found


def operation_section(method: str, path: str) -> str:
    body = documented_routes().get((method, normalized(path)))
    assert body is not None, f"docs/api.md has no section ### {method} {path}"
    return body


def test_every_route_is_documented_with_its_method(routes) -> None:
    documented = documented_routes()
    # aiohttp answers HEAD wherever it answers GET; the conventions say so once.
    missing = sorted(
        f"{method} {path}"
        for method, path in routes
        if (method, path) not in documented and not (method == "HEAD" and ("GET", path) in routes)
    )
    assert missing == [], f"routes missing from docs/api.md: {missing}"
    assert names_in_code(find_section(API_DOC, "Conventions").body, "HEAD")


def test_every_documented_route_exists(routes) -> None:
    stale = sorted(f"{m} {p}" for m, p in documented_routes() if (m, p) not in routes)
    assert stale == [], f"docs/api.md documents routes the server does not have: {stale}"


def _default(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_operation_is_documented(method: str, path: str, operation: dict) -> None:
    body = operation_section(method, path)
    rows = {row[0]: row for row in table_rows(body) if len(row) == 4}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        row = rows.get(f"`{name}`")
        assert row, f"{method} {path}: parameter {name} has no row in the parameter table"
        assert row[1] == parameter["in"], f"{method} {path}: {name} is in {parameter['in']}"
        if "default" in parameter["schema"]:
            default = _default(parameter["schema"]["default"])
            assert names_in_code(row[2], default), f"{method} {path}: {name}'s default {default}"
    for status in operation["responses"]:
        assert re.search(rf"(?m)^\* {status}\b", body), f"{method} {path}: status {status}"
    shapes = [
        _ref_name(media["schema"])
        for part in (operation.get("requestBody", {}), operation["responses"]["200"])
        for media in part.get("content", {}).values()
    ]
    for shape in filter(None, shapes):
        assert names_in_code(body, shape), f"{method} {path}: does not name {shape}"


def test_every_answer_code_of_the_conventions_is_explained() -> None:
    conventions = find_section(API_DOC, "Conventions").body
    # The description names the codes any operation may give besides its own.
    for status in re.findall(r"\b(4\d\d)\b", SPEC["info"]["description"]):
        assert re.search(rf"(?m)^\s+\* {status}\b", conventions), f"{status} not explained"


def property_names(schema: dict[str, Any]) -> list[str]:
    """Field names of ``schema`` and of the objects nested in it, not through references."""
    if "$ref" in schema:
        return []
    names = []
    for name, inner in schema.get("properties", {}).items():
        names += [name, *property_names(inner)]
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            names += property_names(schema[key])
    return names


def shape_sections() -> dict[str, str]:
    shapes = find_section(API_DOC, "JSON shapes")
    return {s.title: s.body for s in sections(shapes.body) if s.level == 3}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_shape_and_field_is_documented(name: str) -> None:
    body = shape_sections().get(name)
    assert body is not None, f"docs/api.md's JSON shapes have no section ### {name}"
    missing = [field for field in property_names(SCHEMAS[name]) if not names_in_code(body, field)]
    assert missing == [], f"{name}: fields not documented: {missing}"


def test_every_documented_shape_exists() -> None:
    stale = sorted(set(shape_sections()) - set(SCHEMAS))
    assert stale == [], f"docs/api.md documents shapes the API does not have: {stale}"
