"""The inbox's HTTP surface against other sites and hostile attachments: state-changing requests
from another origin are refused and change nothing, and downloads are always safe to save."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.store import MessageStore


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer, so a form's 303 is seen as such."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    """Status, headers and body of one request; errors and redirects are answers too."""
    sent = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(sent, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def add(store: MessageStore, subject: str) -> str:
    """Store a small unread message and return its ID."""
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
    return store.add(raw, "a@example.com", ["b@example.com"]).result(timeout=5)


STATE_CHANGES = {
    "api-mark-read": ("PUT", "/api/v1/messages", b'{"Read": true}', "application/json"),
    "api-delete-all": ("DELETE", "/api/v1/messages", None, None),
    "api-delete-one": ("DELETE", "/api/v1/messages", b'{"IDs": ["{id}"]}', "application/json"),
    "form-delete-all": ("POST", "/delete-all", b"", "application/x-www-form-urlencoded"),
    "form-delete-one": ("POST", "/message/{id}/delete", b"", "application/x-www-form-urlencoded"),
}
FOREIGN = {
    "other-site": {"Origin": "http://evil.example"},
    "other-port": {"Origin": "http://127.0.0.1:1"},
    "lookalike-host": {"Origin": "http://127.0.0.1.evil.example"},
    "opaque-origin": {"Origin": "null"},
    "fetch-metadata": {"Sec-Fetch-Site": "cross-site"},
    "fetch-metadata-beats-origin": {"Origin": "{self}", "Sec-Fetch-Site": "cross-site"},
}


def change(web_server: Any, name: str, message_id: str, extra: dict[str, str]) -> tuple[int, bytes]:
    """Make one of the STATE_CHANGES with the given extra headers."""
    method, path, body, content_type = STATE_CHANGES[name]
    headers = {k: v.replace("{self}", web_server.url) for k, v in extra.items()}
    if content_type:
        headers["Content-Type"] = content_type
    if body:
        body = body.replace(b"{id}", message_id.encode())
    url = web_server.url + path.replace("{id}", urllib.parse.quote(message_id, safe=""))
    status, _, answer = request(url, method, body, headers)
    return status, answer


@pytest.mark.parametrize("foreign", FOREIGN.values(), ids=FOREIGN.keys())
@pytest.mark.parametrize("name", STATE_CHANGES.keys())
def test_state_change_from_another_site_is_403_and_changes_nothing(web_server, name, foreign):
    message_id = add(web_server.store, "keep me")

    status, answer = change(web_server, name, message_id, foreign)

    assert status == 403
    if STATE_CHANGES[name][1].startswith("/api/"):
        assert json.loads(answer)["Error"]
    page = web_server.store.list()
    assert [(m.id, m.read) for m in page.messages] == [(message_id, False)]


@pytest.mark.parametrize("name", STATE_CHANGES.keys())
def test_clients_that_send_no_origin_are_served(web_server, name):
    message_id = add(web_server.store, "change me")

    status, answer = change(web_server, name, message_id, {})

    assert status in (200, 303), answer
    if name == "api-mark-read":
        assert web_server.store.list().messages[0].read
    else:
        assert web_server.store.counts() == (0, 0)


def attachment_message(filename_header: str) -> bytes:
    """A message whose one attachment carries the given Content-Disposition parameters."""
    return (
        "From: a@example.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        f"--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; {filename_header}\r\n"
        "\r\n<script>alert(1)</script>\r\n--b--\r\n"
    ).encode()


def saved_name(disposition: str) -> str:
    """The name a browser saves under: ``filename*`` when present (RFC 6266), else ``filename``."""
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition, re.IGNORECASE)
    if extended:
        return urllib.parse.unquote(extended.group(1))
    return re.search(r'filename="([^"]*)"', disposition).group(1)


FILE_NAMES = {
    # RFC 2231 lets a name carry any byte, CR and LF included.
    "crlf": (
        "filename*=utf-8''evil%0D%0ASet-Cookie%3A%20pwned%3D1%0D%0A.html",
        "evil_Set-Cookie_ pwned=1_.html",
    ),
    "quotes": ('filename="say \\"hi\\".html"', "say _hi_.html"),
    "slashes": ('filename="dir/sub\\\\name.html"', "name.html"),
    "dot-dot": ('filename="../../../../etc/cron.d/job.html"', "job.html"),
    "non-ascii": (
        "filename*=utf-8''r%C3%A9sum%C3%A9%20%E5%B1%A5%E6%AD%B4.html",
        "résumé 履歴.html",
    ),
    "nul": ("filename*=utf-8''a%00b.html", "a_b.html"),
    "empty": ('filename=""', "part-2.html"),
}


@pytest.mark.parametrize(("header", "saved_as"), FILE_NAMES.values(), ids=FILE_NAMES.keys())
def test_attachment_downloads_under_a_safe_file_name(web_server, header, saved_as):
    raw = attachment_message(header)
    message_id = web_server.store.add(raw, "a@example.com", ["b@example.com"]).result(timeout=5)

    status, headers, body = request(f"{web_server.url}/api/v1/message/{message_id}/part/2")

    assert status == 200
    assert body == b"<script>alert(1)</script>"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "Set-Cookie" not in headers
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.isascii()
    assert not any(char in disposition for char in "\r\n\0")
    ascii_name = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert "/" not in ascii_name
    assert "\\" not in ascii_name
    assert not ascii_name.startswith(".")
    assert saved_name(disposition) == saved_as


HUGE = str(10**25)


@pytest.mark.parametrize(
    "path",
    [
        f"/?page={HUGE}",
        f"/fragments/inbox?page={HUGE}",
        f"/api/v1/messages?start={HUGE}",
        f"/api/v1/search?query=keep&start={HUGE}",
    ],
)
def test_paging_far_past_the_end_is_an_empty_page_not_an_error(web_server, path):
    add(web_server.store, "keep me")

    status, headers, body = request(web_server.url + path)

    assert status == 200
    if path.startswith("/api/"):
        assert json.loads(body)["messages"] == []
    else:
        assert b"keep me" not in body


# Each parameter, and the pages that read it.
PARAMETERS = {
    "q": ["/", "/fragments/inbox"],
    "page": ["/", "/fragments/inbox", "/?q=keep"],
    "start": ["/api/v1/messages", "/api/v1/search?query=keep"],
    "limit": ["/api/v1/messages", "/api/v1/search?query=keep"],
    "query": ["/api/v1/search"],
}


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    # One server for every example: it has to keep answering all of them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(list(PARAMETERS)),
    value=st.one_of(st.text(max_size=30), st.integers(-(10**30), 10**30).map(str)),
)
def test_any_parameter_value_gets_an_answer_never_a_500(web_server, name, value):
    if not web_server.store.counts()[0]:
        add(web_server.store, "keep me")

    for path in PARAMETERS[name]:
        separator = "&" if "?" in path else "?"
        url = f"{web_server.url}{path}{separator}{urllib.parse.urlencode({name: value})}"
        status, headers, body = request(url)

        assert status in (200, 400), (url, body[:300])
        if path.startswith("/api/"):
            assert headers.get_content_type() == "application/json"
            if status == 400:
                assert json.loads(body)["Error"]
