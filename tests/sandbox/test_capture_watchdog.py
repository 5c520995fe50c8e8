"""The capture watchdog: no input, over SMTP or the API, may stop capture.

After each hostile input (in the envelope, the headers, the body, and in every JSON field and
URL parameter of every API operation) the server must have answered it, never with a 5xx, and
a normal message must still get 250 within two seconds and show in the API. A server whose
store thread died keeps answering HTTP, so only that message tells.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from still_captures import assert_still_captures

from mail_sandbox.server import CaptureServer
from mail_sandbox.web.openapi import description

#: How long the server may take to answer the hostile input itself.
HOSTILE_ANSWER_WITHIN = 30.0
SEED = (
    b"From: Shop <shop@example.com>\r\nTo: ann@example.com\r\nSubject: seed\r\n"
    b"X-Tags: seedtag\r\n\r\nhello\r\n"
)


@pytest.fixture
def server(start_capture_server: Callable[..., CaptureServer]) -> CaptureServer:
    """A fresh server (chaos on, so the chaos endpoint is live) with one tagged message."""
    return start_capture_server(enable_chaos=True)


def seed(server: CaptureServer) -> str:
    """Store the seed message; its ID."""
    return server.store.add(SEED, "shop@example.com", ["ann@example.com"]).result(10)


# --- SMTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """One SMTP transaction, each part sent exactly as these bytes."""

    mail_from: bytes = b"MAIL FROM:<a@example.com>"
    rcpt_to: tuple[bytes, ...] = (b"RCPT TO:<b@example.com>",)
    data: bytes = b"From: a@example.com\r\nSubject: hostile\r\n\r\nbody\r\n"


def _message(headers: bytes, body: bytes = b"body\r\n") -> Transaction:
    return Transaction(
        data=b"From: a@example.com\r\nTo: b@example.com\r\n" + headers + b"\r\n" + body
    )


def _rcpts(*addresses: bytes) -> tuple[bytes, ...]:
    return tuple(b"RCPT TO:<" + address + b">" for address in addresses)


HUGE_ADDRESS = b"a" * 500_000 + b"@example.com"
ENCODED_WORD_JUNK = (
    b"=?utf-8?B?////?= =?x-unknown?Q?=FF?= =?utf-8?Q?caf=E9?= =?unknown-8bit?q?=FF=FE?= "
    b"=?utf-8?b?broken =?iso-8859-1?q?=?= =?=?= =?utf-8?q?=00?="
)

SMTP_INPUTS: dict[str, Transaction] = {
    # The envelope.
    "latin-1-mail-from": Transaction(mail_from=b"MAIL FROM:<caf\xe9@example.com>"),
    "latin-1-rcpt-to": Transaction(rcpt_to=_rcpts(b"\xe9t\xe9@example.com")),
    "invalid-utf8-mail-from-smtputf8": Transaction(
        mail_from=b"MAIL FROM:<\xff\xfe\xed\xb3\xbf@example.com> SMTPUTF8"
    ),
    "invalid-utf8-rcpt-to": Transaction(rcpt_to=_rcpts(b"\xc3\x28@\xff.example.com")),
    "nul-in-mail-from": Transaction(mail_from=b"MAIL FROM:<a\x00b@example.com>"),
    "nul-in-rcpt-to": Transaction(rcpt_to=_rcpts(b"a\x00b@example.com")),
    "huge-mail-from": Transaction(mail_from=b"MAIL FROM:<" + HUGE_ADDRESS + b">"),
    "huge-rcpt-to": Transaction(rcpt_to=_rcpts(HUGE_ADDRESS)),
    "many-rcpt-to": Transaction(rcpt_to=_rcpts(*(b"r%d@example.com" % n for n in range(300)))),
    "junk-mail-parameters": Transaction(
        mail_from=b"MAIL FROM:<a@example.com> SIZE=" + b"9" * 5000 + b" BODY=\xff X\x00=\xe9"
    ),
    # The headers.
    "latin-1-headers": _message(b"Subject: caf\xe9 \xff\xfe\r\nX-Name: \xe9\xe9\r\n"),
    "non-utf8-address-headers": Transaction(
        data=b"From: \xe9 <caf\xe9@example.com>\r\nTo: \xff <\xff@example.com>\r\n"
        b"Cc: \xc3\x28@example.com\r\nReply-To: \xed\xa0\x80@example.com\r\n\r\nbody\r\n"
    ),
    "non-utf8-header-name": _message(b"X-\xe9\xff: v\r\n"),
    "malformed-encoded-words": Transaction(
        data=b"From: " + ENCODED_WORD_JUNK + b" <a@example.com>\r\n"
        b"To: =?utf-8?b?====?= <b@example.com>\r\nSubject: " + ENCODED_WORD_JUNK + b"\r\n"
        b"X-Tags: " + ENCODED_WORD_JUNK + b"\r\n\r\nbody\r\n"
    ),
    "non-utf8-tags": _message(b"X-Tags: caf\xe9, \xff\xfe, =?unknown-8bit?q?=ED=B3=BF?=\r\n"),
    "nul-in-headers": _message(b"Subject: a\x00b\r\nX-Tags: t\x00u\r\nX-N\x00ul: v\r\n"),
    "huge-header-line": _message(b"X-Huge: " + b"h" * 900_000 + b"\r\n"),
    "huge-folded-header": _message(b"Subject: start" + b"\r\n folded" * 60_000 + b"\r\n"),
    "many-headers": _message(b"X-Many: v\r\n" * 30_000),
    "bad-date-and-ids": _message(
        b"Date: \xff, 99 Foo 99999 99:99:99 +9999\r\nMessage-ID: <\xe9\x00@>\r\n"
    ),
    # The body.
    "bare-cr-and-lf": Transaction(
        data=b"Subject: bare\nFrom: a@example.com\r\rX-After: cr\n\rline\rmore\nbare\r\r\n"
    ),
    "nul-in-body": _message(b"Subject: nul\r\n", b"body\x00\x00end\r\n\x00\r\n"),
    "huge-body-line": _message(b"Subject: long\r\n", b"x" * 900_000 + b"\r\n"),
    "line-over-the-limit": _message(b"Subject: too long\r\n", b"y" * (1024 * 1024 + 10) + b"\r\n"),
    "non-utf8-text-part": _message(
        b"Subject: charset\r\nContent-Type: text/plain; charset=utf-8\r\n", b"caf\xe9 \xff\xfe\r\n"
    ),
    "unknown-charsets": _message(
        b"Subject: =?x-no-such?q?a?=\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n',
        b"--b\r\nContent-Type: text/plain; charset=unknown-8bit\r\n\r\n\xff\xed\xb3\xbf\r\n"
        b'--b\r\nContent-Type: text/html; charset="\xff\x00"\r\n\r\n<p>\xe9</p>\r\n--b--\r\n',
    ),
    "non-utf8-attachment-names": _message(
        b"Subject: names\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
        b'--b\r\nContent-Type: application/pdf; name="\xe9\xff.pdf"\r\n'
        b"Content-Disposition: attachment; filename=\"\xff\x00.pdf\"; filename*=utf-8''%FF%ED\r\n"
        b"Content-ID: <\xe9>\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n",
    ),
}


def _command(client: smtplib.SMTP, line: bytes) -> int:
    """Send one command exactly as given and read its reply's code."""
    client.send(line + b"\r\n")
    return client.getreply()[0]


def send_raw(server: CaptureServer, transaction: Transaction) -> list[int]:
    """Run the transaction with its bytes unchanged (no dot or line-end fixing beyond the end
    marker); the reply codes, each of which must arrive."""
    assert server.smtp is not None
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=HOSTILE_ANSWER_WITHIN) as client:
        codes = [client.ehlo()[0], _command(client, transaction.mail_from)]
        codes += [_command(client, line) for line in transaction.rcpt_to]
        if codes[1] == 250 and 250 in codes[2:]:
            codes.append(_command(client, b"DATA"))
            if codes[-1] == 354:
                client.send(transaction.data + b"\r\n.\r\n")
                codes.append(client.getreply()[0])
        codes.append(_command(client, b"RSET"))
    return codes


@pytest.mark.parametrize("transaction", SMTP_INPUTS.values(), ids=SMTP_INPUTS.keys())
def test_after_hostile_smtp_input_a_normal_message_is_still_captured(
    server: CaptureServer, transaction: Transaction
) -> None:
    codes = send_raw(server, transaction)

    # Every reply came; none was a server failure that leaves the client guessing.
    assert all(200 <= code < 600 for code in codes), codes
    assert codes[-1] == 250  # RSET: the session itself is still in order
    assert_still_captures(server)


# --- The API -----------------------------------------------------------------------------------

#: A valid body for each operation that takes one; "{ID}" is the seed message, "seedtag" its tag.
#: Operations with more than one way to name messages get a body for each.
VALID_BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("PUT", "/api/v1/messages"): [
        {"IDs": ["{ID}"], "Read": True},
        {"Search": "subject:seed", "Read": False},
    ],
    ("DELETE", "/api/v1/messages"): [{"IDs": ["{ID}"]}],
    ("PUT", "/api/v1/tags"): [{"IDs": ["{ID}"], "Tags": ["one", "two"]}],
    ("PUT", "/api/v1/tags/{Tag}"): [{"Name": "renamed"}],
    ("PUT", "/api/v1/chaos"): [
        {
            "Sender": {"ErrorCode": 451, "Probability": 0},
            "Recipient": {"ErrorCode": 452, "Probability": 0},
            "Authentication": {"ErrorCode": 535, "Probability": 0},
        }
    ],
    ("POST", "/api/v1/mailboxes"): [{"Name": "ci-watch", "Password": "pw", "TTL": 3600}],
    ("POST", "/api/v1/send"): [
        {
            "From": {"Email": "shop@example.com", "Name": "Shop"},
            "To": [{"Email": "ann@example.com", "Name": "Ann"}],
            "Cc": [{"Email": "bob@example.com", "Name": "Bob"}],
            "Bcc": ["eve@example.com"],
            "ReplyTo": [{"Email": "help@example.com", "Name": "Help"}],
            "Subject": "Your order",
            "Text": "Thanks",
            "HTML": "<p>Thanks</p>",
            "Headers": {"X-Order": "42"},
            "Tags": ["orders"],
            "Attachments": [
                {
                    "Content": "JVBERi0xLjQK",
                    "Filename": "invoice.pdf",
                    "ContentType": "application/pdf",
                    "ContentID": "invoice",
                }
            ],
        }
    ],
}
#: Valid path parameters, by their names in the description.
PATH_VALUES = {"ID": "{ID}", "PartID": "1", "Tag": "seedtag", "Mailbox": "default"}
#: Query parameters each request carries unless the one under test replaces it.
QUERY_VALUES = {"query": "subject:seed", "timeout": "0.2", "follow": "false", "limit": "10"}

#: JSON text put in place of one field's value.
HOSTILE_JSON = {
    "lone-surrogate": '"\\udcff"',
    "lone-surrogate-inside": '"seed\\ud800tag"',
    "nul": '"a\\u0000b"',
    "huge-string": '"' + "x" * 300_000 + '"',
    "nested": '{"a": [{"b": [[[["deep"]]]]}], "c": null}',
    "deeply-nested": "[" * 5_000 + "]" * 5_000,
    "number": "12345",
    "null": "null",
    "beyond-int64": str(2**64),
    "too-many-digits": "9" * 5_000,
    "float-overflow": "1e400",
}
#: Whole bodies, sent in place of a valid one.
HOSTILE_BODIES = {
    "not-utf8": b'{"IDs": ["\xff\xfe"]}',
    "nul": b"\x00",
    "json-null": b"null",
    "json-array": b"[]",
    "json-string": b'"\\udcff"',
    "truncated": b'{"IDs": ["',
    "deeply-nested": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "too-many-digits": b"9" * 5_000,
    "form-with-bad-escapes": b"ids=%ED%B3%BF&ids=%FF%00&Read=%FF",
    "larger-than-allowed": b'{"IDs": ["' + b"x" * (2 * 1024 * 1024) + b'"]}',
}
#: Already percent-encoded text put in place of one URL parameter.
HOSTILE_URL_VALUES = {
    "encoded-surrogate": "%ED%B3%BF",
    "invalid-utf8": "%FF%FE",
    "nul": "a%00b",
    "beyond-int64": str(2**64),
    "too-many-digits": "9" * 5_000,
    "long": "x" * 4_000,
}
#: Not hostile but valid: a wait this long is lowered to the longest wait and then waits it.
VALID_URL_VALUES = {("timeout", "beyond-int64")}
_SENTINEL = "\u0001hostile\u0001"


@dataclass(frozen=True)
class ApiInput:
    """One request: method, path template, query parameters and body, all still unresolved."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes | None = None


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in description()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field (and first list item) inside a body, outermost first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _json_paths(item, (*prefix, key))
    elif isinstance(value, list) and value:
        yield (*prefix, 0)
        yield from _json_paths(value[0], (*prefix, 0))


def _replaced(body: Any, at: tuple[Any, ...], json_text: str) -> bytes:
    copy = json.loads(json.dumps(body))
    target = copy
    for step in at[:-1]:
        target = target[step]
    target[at[-1]] = _SENTINEL
    return json.dumps(copy).replace(json.dumps(_SENTINEL), json_text).encode()


def _default_query(operation: dict[str, Any]) -> dict[str, str]:
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    return {name: QUERY_VALUES[name] for name in names if name in QUERY_VALUES}


def api_inputs() -> Iterator[Any]:
    for method, path, operation in _operations():
        query = _default_query(operation)
        # Node IDs cannot hold "/"; "GET message.{ID}.raw" names GET /api/v1/message/{ID}/raw.
        label = f"{method} " + path.removeprefix("/api/v1/").replace("/", ".")
        for n, body in enumerate(VALID_BODIES.get((method, path), [])):
            valid = json.dumps(body).encode()
            for at in _json_paths(body):
                field = ".".join(map(str, at))
                for name, text in HOSTILE_JSON.items():
                    hostile = ApiInput(method, path, query, _replaced(body, at, text))
                    yield pytest.param(hostile, id=f"{label} body{n} {field}={name}")
            if n == 0:
                for name, raw in HOSTILE_BODIES.items():
                    yield pytest.param(ApiInput(method, path, query, raw), id=f"{label} {name}")
                yield pytest.param(ApiInput(method, path, query, valid), id=f"{label} valid")
        for parameter in operation.get("parameters", []):
            for name, text in HOSTILE_URL_VALUES.items():
                where, key = parameter["in"], parameter["name"]
                if (key, name) in VALID_URL_VALUES:
                    continue
                hostile_query = {**query, key: text} if where == "query" else query
                hostile_path = path.replace("{" + key + "}", text) if where == "path" else path
                body = None
                if (method, path) in VALID_BODIES:
                    body = json.dumps(VALID_BODIES[(method, path)][0]).encode()
                yield pytest.param(
                    ApiInput(method, hostile_path, hostile_query, body),
                    id=f"{label} {where}:{key}={name}",
                )


def _url(server: CaptureServer, hostile: ApiInput, message_id: str) -> str:
    path = hostile.path
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    path = path.replace("{ID}", message_id)
    query = "&".join(f"{key}={value}" for key, value in hostile.query.items())
    return f"{server.url}{path}" + (f"?{query}" if query else "")


def call(server: CaptureServer, hostile: ApiInput, message_id: str) -> tuple[int, str, bytes]:
    """Status, content type and body of the request; HTTP errors are answers too."""
    body = hostile.body.replace(b"{ID}", message_id.encode()) if hostile.body else None
    request = urllib.request.Request(
        _url(server, hostile, message_id), data=body, method=hostile.method
    )
    try:
        with urllib.request.urlopen(request, timeout=HOSTILE_ANSWER_WITHIN) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_content_type(), error.read()


@pytest.mark.parametrize("hostile", list(api_inputs()))
def test_after_hostile_api_input_a_normal_message_is_still_captured(
    server: CaptureServer, hostile: ApiInput
) -> None:
    status, content_type, body = call(server, hostile, seed(server))

    assert status < 500, body[:500]
    if status >= 400:
        # A refusal the client can read, naming what was wrong.
        assert content_type == "application/json", body[:500]
        assert json.loads(body)["Error"]
    assert_still_captures(server)


def _schema_fields(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """Every property name of a request body schema, nested ones included."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    fields = set(schema.get("properties", {}))
    for item in schema.get("properties", {}).values():
        fields |= _schema_fields(item, components)
    if "items" in schema:
        fields |= _schema_fields(schema["items"], components)
    return fields


def test_the_watchdog_covers_every_json_field_of_every_operation() -> None:
    components = description()["components"]["schemas"]
    described: dict[tuple[str, str], set[str]] = {}
    for method, path, operation in _operations():
        if "requestBody" in operation:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            described[(method, path)] = _schema_fields(schema, components)
    covered = {
        operation: {
            str(step)
            for body in bodies
            for at in _json_paths(body)
            for step in at
            if isinstance(step, str)
        }
        for operation, bodies in VALID_BODIES.items()
    }

    assert covered.keys() == described.keys()
    missing = {operation: fields - covered[operation] for operation, fields in described.items()}
    assert not any(missing.values()), missing
