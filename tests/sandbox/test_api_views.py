"""Rendered views (``/view/{ID}.html`` and ``.txt``) and ``/headers``' names, as Mailpit has them.

The HTML view is a captured email served as a page of its own, so it is also opened in a real
browser to show that no script in it runs.
"""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest
from playwright.sync_api import Page

from mail_sandbox.store import MessageStore
from mail_sandbox.web.security import EMAIL_CSP

LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HOSTILE = (
    '<p><a href="http://127.0.0.1:5000/reset/abc" target="_self" rel="opener">Reset</a></p>'
    "<script>window.pwned = 'script'</script>"
    '<img src="x-invalid:" onerror="window.pwned = \'onerror\'">'
)


def add(store: MessageStore, raw: bytes) -> str:
    """Store a message and return its ID."""
    return store.add(raw, "app@example.com", ["ann@example.com"]).result(timeout=5)


def html_message() -> bytes:
    """Text and HTML parts, a link, and an image sent inside the message (``cid:``)."""
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = "Reset"
    email["Message-ID"] = "<reset-1@example.com>"
    email.set_content("Reset: http://127.0.0.1:5000/reset/abc\n")
    email.add_alternative(
        '<html><body><p><a href="http://127.0.0.1:5000/reset/abc">Reset</a></p>'
        '<img src="cid:logo@app" alt="logo"></body></html>',
        subtype="html",
    )
    email.get_body(("html",)).add_related(
        LOGO, "image", "png", cid="<logo@app>", filename="logo.png", disposition="inline"
    )
    return email.as_bytes()


def text_message() -> bytes:
    """A plain-text-only message."""
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = "Plain"
    email.set_content("Just text, no HTML.\n")
    return email.as_bytes()


@pytest.fixture
def api(web_server) -> httpx.Client:
    """An HTTP client of the web app."""
    return httpx.Client(base_url=web_server.url, timeout=10)


def test_html_view_is_the_html_part_with_embedded_images_linked(
    api: httpx.Client, store: MessageStore
) -> None:
    message_id = add(store, html_message())
    logo_part = api.get(f"/api/v1/message/{message_id}").json()["Inline"][0]["PartID"]

    reply = api.get(f"/view/{message_id}.html")

    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Content-Security-Policy"] == EMAIL_CSP
    logo_url = f"/api/v1/message/{message_id}/part/{logo_part}"
    assert reply.text.startswith('<html><body><p><a href="http://127.0.0.1:5000/reset/abc">')
    assert f'<img src="{logo_url}" alt="logo">' in reply.text
    assert "cid:" not in reply.text
    assert api.get(logo_url).content == LOGO


def test_embed_opens_every_link_in_a_new_tab(api: httpx.Client, store: MessageStore) -> None:
    email = EmailMessage()
    email["Subject"] = "Hostile"
    email.set_content(HOSTILE, subtype="html")
    message_id = add(store, email.as_bytes())

    plain = api.get(f"/view/{message_id}.html").text
    embedded = api.get(f"/view/{message_id}.html?embed=1").text

    assert 'target="_self" rel="opener"' in plain
    assert (
        '<a href="http://127.0.0.1:5000/reset/abc" target="_blank" rel="noreferrer noopener">'
        in embedded
    )
    assert "_self" not in embedded and '"opener"' not in embedded


def test_html_view_runs_no_script_in_a_browser(page: Page, web_server, store: MessageStore) -> None:
    email = EmailMessage()
    email["Subject"] = "Hostile"
    email.set_content(HOSTILE, subtype="html")
    message_id = add(store, email.as_bytes())

    page.goto(f"{web_server.url}/view/{message_id}.html?embed=1")

    assert page.get_by_role("link", name="Reset").get_attribute("target") == "_blank"
    assert page.evaluate("() => window.pwned") is None


def test_text_view_is_the_text_part(api: httpx.Client, store: MessageStore) -> None:
    message_id = add(store, html_message())

    reply = api.get(f"/view/{message_id}.txt")

    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.text.rstrip() == "Reset: http://127.0.0.1:5000/reset/abc"


def test_message_without_html_part_has_no_html_view(api: httpx.Client, store: MessageStore) -> None:
    message_id = add(store, text_message())

    assert api.get(f"/view/{message_id}.html").status_code == 404
    assert api.get(f"/view/{message_id}.txt").text.rstrip() == "Just text, no HTML."


def test_views_of_latest_and_views_leave_the_message_unread(
    api: httpx.Client, store: MessageStore
) -> None:
    add(store, text_message())
    newest = add(store, html_message())

    assert "Reset" in api.get("/view/latest.html").text
    assert "Reset" in api.get("/view/latest.txt").text
    assert store.summary(newest).read is False


@pytest.mark.parametrize("path", ["/view/no-such-id.html", "/view/no-such-id.txt"])
def test_views_of_an_unknown_message_are_404(api: httpx.Client, path: str) -> None:
    assert api.get(path).status_code == 404


def test_headers_use_mailpits_canonical_names(api: httpx.Client, store: MessageStore) -> None:
    raw = (
        b"From: app@example.com\r\nTo: ann@example.com\r\nSubject: Hi\r\n"
        b"Message-ID: <one@example.com>\r\nMIME-Version: 1.0\r\n"
        b"x-mailer: by hand\r\nX-MAILER: twice\r\nDKIM-Signature: v=1\r\n"
        b"Content-Type: text/plain\r\n\r\nhello\r\n"
    )
    message_id = add(store, raw)

    headers = api.get(f"/api/v1/message/{message_id}/headers").json()

    assert headers == {
        "Content-Type": ["text/plain"],
        "Dkim-Signature": ["v=1"],
        "From": ["app@example.com"],
        "Message-Id": ["<one@example.com>"],
        "Mime-Version": ["1.0"],
        "Subject": ["Hi"],
        "To": ["ann@example.com"],
        "X-Mailer": ["by hand", "twice"],
    }
    assert list(headers) == sorted(headers)
