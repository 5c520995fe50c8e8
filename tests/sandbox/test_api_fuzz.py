"""Fuzzing every /api/v1 operation from the API's OpenAPI description (/api/v1/swagger.json).

Schemathesis generates valid and invalid requests from the description; whatever it sends, the
API must answer as described (never a 5xx, always the declared shapes), and afterwards SMTP
capture must still work. Runs are seeded and bounded, so CI sees the same cases every time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from still_captures import assert_still_captures

from mail_sandbox.defaults import WAIT_SECONDS
from mail_sandbox.server import CaptureServer
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.web.openapi import description

EXAMPLES_PER_OPERATION = 30
# The longest a fuzzed wait may block: long enough to wait for real, short enough for CI.
MAX_WAIT = 0.2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(copy.deepcopy(description()))
# Schemathesis never generates lone surrogates, since a URL cannot carry them; a JSON body can
# ("\udcff" is valid JSON), so strings in bodies sometimes get one.
LONE_SURROGATES = st.characters(categories=["Cs"])


@st.composite
def _salted(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with a lone surrogate put into some of its strings (field names stay)."""
    if isinstance(value, str):
        if not draw(st.booleans()):
            return value
        at = draw(st.integers(0, len(value)))
        return value[:at] + draw(LONE_SURROGATES) + value[at:]
    if isinstance(value, list):
        return [draw(_salted(item)) for item in value]
    if isinstance(value, dict):
        return {key: draw(_salted(item)) for key, item in value.items()}
    return value


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    return _salted(body)


def sample_message(http_port: int) -> bytes:
    """A message with text, HTML, a loopback link, an inline image, an attachment and tags."""
    message = EmailMessage()
    message["From"] = "Shop <shop@example.com>"
    message["To"] = "ann@example.com"
    message["Subject"] = "Your order"
    message["X-Tags"] = "orders, fuzz"
    message.set_content(f"Track it: http://127.0.0.1:{http_port}/api/v1/info\n")
    message.add_alternative(
        f'<p><a href="http://localhost:{http_port}/api/v1/webui">Track</a><img src="cid:logo"></p>',
        subtype="html",
    )
    message.get_payload()[1].add_related(b"\x89PNG\r\n", "image", "png", cid="<logo>")
    message.add_attachment(b"%PDF-1.4\n", "application", "pdf", filename="invoice.pdf")
    return bytes(message)


@pytest.fixture
def fuzzed_server(
    start_capture_server: Callable[..., CaptureServer],
) -> Iterator[CaptureServer]:
    """A chaos-enabled server with mail in it; after the fuzzing it must still capture."""
    server = start_capture_server(enable_chaos=True, max_size=SMTPSettings().max_size)
    assert server.http is not None
    for _ in range(3):
        stored = server.store.add(
            sample_message(server.http.port), "shop@example.com", ["ann@example.com"]
        )
        stored.result(10)
    yield server
    assert_still_captures(server)


def _bound_wait(query: dict[str, Any]) -> None:
    """Lower a valid timeout above ``MAX_WAIT``; an invalid one stays, for the server to refuse."""
    try:
        seconds = float(query.get("timeout", WAIT_SECONDS))
    except (TypeError, ValueError):
        return
    if not seconds <= MAX_WAIT:  # NaN and infinity included
        query["timeout"] = str(MAX_WAIT)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    # An operation's examples share one server on purpose (capture must survive them all),
    # and how fast cases are generated is not what is tested.
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_described(
    case: schemathesis.Case, fuzzed_server: CaptureServer
) -> None:
    if case.operation.path == "/api/v1/wait" and isinstance(case.query, dict):
        _bound_wait(case.query)
    case.call_and_validate(base_url=fuzzed_server.url, checks=CHECKS, timeout=30)
