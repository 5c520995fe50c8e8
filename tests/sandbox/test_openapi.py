"""``GET /api/v1/swagger.json``: a valid OpenAPI description of exactly the API that is served."""

from __future__ import annotations

import json
import re
import urllib.request

from openapi_spec_validator import validate

from mail_sandbox.store import MessageStore
from mail_sandbox.web import create_web_app
from mail_sandbox.web.openapi import description

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    """A path with its placeholders unnamed: ``{id}`` and ``{ID}`` are the same route."""
    return _PLACEHOLDER.sub("{}", path)


def test_the_description_is_served_where_mailpit_serves_its_own(web_server):
    with urllib.request.urlopen(web_server.url + "/api/v1/swagger.json", timeout=10) as response:
        content_type = response.headers.get_content_type()
        served = json.load(response)

    assert content_type == "application/json"
    assert served == description()
    validate(served)
    assert served["openapi"].startswith("3.")


def test_every_api_route_is_described_and_every_described_operation_is_served(
    store: MessageStore,
):
    app = create_web_app(store)
    served = {
        (route.method, _shape(route.resource.canonical))
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        # aiohttp answers HEAD for every GET on its own.
        and route.method != "HEAD"
    }
    described = {
        (method.upper(), _shape(path))
        for path, item in description()["paths"].items()
        for method in item
    }

    assert served == described
