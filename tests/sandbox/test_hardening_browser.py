"""Hostile mail in a real browser: nothing in a captured email runs script, opens a dialog,
submits a form or moves the inbox anywhere, whether it hides in the HTML body, the subject, the
sender's name or an attachment's file name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Dialog, Frame, Page, Request, expect

from mail_sandbox.store import MessageStore

# Each trick sets window.pwned (here, in its parent or at the top) and opens a dialog if it
# ever runs; each navigation it would cause asks for a URL the test watches for.
HOSTILE_HTML = """<!doctype html><html><head>
<meta http-equiv="refresh" content="0; url=/?pwned=meta-refresh">
</head><body onload="top.pwned = 'onload'; alert('onload')">
<script>window.pwned = "script"; parent.pwned = "script"; alert("script");</script>
<img src="x-invalid:" onerror="top.pwned = 'onerror'; alert('onerror')">
<svg onload="top.pwned = 'svg'; alert('svg')"></svg>
<iframe src="javascript:top.pwned = 'iframe'; alert('iframe')"></iframe>
<p><a id="js-link" href="javascript:top.pwned = 'link'; alert('link')">Claim your prize</a></p>
<p><a id="js-self" target="_self" href="javascript:top.pwned = 'self'; alert('self')">Here</a></p>
<p><a id="top-link" target="_top" href="/?pwned=target-top">Open in the inbox</a></p>
<form action="/delete-all" method="post"><button id="post-form">Delete everything</button></form>
<form action="/" method="get"><input type="hidden" name="pwned" value="get-form">
<button id="get-form">Search</button></form>
<p><a id="marker" href="/static/inbox.css">A harmless link</a></p>
</body></html>"""
HOSTILE_SUBJECT = '<script>top.pwned = "subject"; alert("subject")</script><b>bold?</b>'
HOSTILE_NAME = "<script>top.pwned = 'from'</script><img src=x onerror=alert('from')>"
HOSTILE_FILENAME = "<img src=x onerror=alert('file')><script>alert(1)</script>.pdf"


def hostile_message() -> bytes:
    """A multipart message with every trick above, written out by hand (no library would)."""
    return (
        f'From: "{HOSTILE_NAME}" <mallory@example.com>\r\n'
        "To: victim@example.com\r\n"
        f"Subject: {HOSTILE_SUBJECT}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\n"
        'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "<script>alert('text')</script> javascript:alert(1)\r\n"
        "--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{HOSTILE_HTML}\r\n"
        "--inner--\r\n"
        "--outer\r\n"
        f'Content-Type: application/pdf; name="{HOSTILE_FILENAME}"\r\n'
        f'Content-Disposition: attachment; filename="{HOSTILE_FILENAME}"\r\n\r\n'
        "%PDF-1.4 not really\r\n"
        "--outer--\r\n"
    ).encode()


@dataclass
class Watch:
    """What the browser did that a hostile email might have caused."""

    dialogs: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def watch(page: Page) -> Iterator[Watch]:
    """Records dialogs in every page of the context, and the inbox page's requests."""
    seen = Watch()

    def dialog(opened: Dialog) -> None:
        seen.dialogs.append(opened.message)
        opened.dismiss()

    def request(sent: Request) -> None:
        seen.requests.append(sent.url)

    page.context.on("dialog", dialog)
    page.on("request", request)
    yield seen


def add(store: MessageStore, raw: bytes) -> str:
    """Store a message directly and return its ID."""
    return store.add(raw, "mallory@example.com", ["victim@example.com"]).result(timeout=5)


def pwned(page: Page, *frames: Frame) -> list[Any]:
    """The window flag every trick sets, in the inbox page and the given frames."""
    return [target.evaluate("() => window.pwned") for target in (page, *frames)]


def test_hostile_subject_and_sender_show_as_text_in_the_list(
    page: Page, web_server: Any, watch: Watch
) -> None:
    add(web_server.store, hostile_message())

    page.goto(web_server.url)

    expect(page.get_by_role("link", name=HOSTILE_SUBJECT)).to_be_visible()
    expect(page.locator("td.col-from")).to_contain_text("<script>top.pwned = 'from'</script>")
    assert page.locator("#inbox b, #inbox script, #inbox img").count() == 0
    assert pwned(page) == [None]
    assert watch.dialogs == []


def test_hostile_message_page_runs_nothing_and_goes_nowhere(
    page: Page, web_server: Any, watch: Watch
) -> None:
    message_id = add(web_server.store, hostile_message())
    page.goto(f"{web_server.url}/message/{message_id}")
    email = page.frame_locator("iframe.email-frame")
    expect(email.locator("#marker")).to_be_visible()
    message_url = page.url
    page.on(
        "framenavigated",
        lambda frame: frame == page.main_frame and watch.navigations.append(frame.url),
    )

    for trick in ("#js-link", "#js-self", "#top-link", "#post-form", "#get-form"):
        email.locator(trick).click()
    # The last click opens a tab; once it is open, the browser has handled the clicks before.
    with page.context.expect_page(lambda opened: "inbox.css" in opened.url) as harmless:
        email.locator("#marker").click()
    harmless.value.close()

    assert page.url == message_url
    assert watch.navigations == []
    assert [url for url in watch.requests if "pwned" in url or "delete-all" in url] == []
    assert watch.dialogs == []
    frame = page.frame(url=f"{web_server.url}/message/{message_id}/html")
    assert frame is not None
    assert pwned(page, frame) == [None, None]
    assert [p.url for p in page.context.pages] == [message_url]
    # Shown as text, everywhere the page shows it.
    expect(page.get_by_role("heading", name=HOSTILE_SUBJECT)).to_be_visible()
    expect(page.locator(".fields")).to_contain_text(HOSTILE_NAME)
    expect(page.locator(".attachments")).to_contain_text("<script>alert(1)</script>.pdf")
    assert page.locator("article b, article script, article img").count() == 0
    assert web_server.store.counts()[0] == 1


def test_html_attachment_downloads_instead_of_rendering(
    page: Page, web_server: Any, watch: Watch
) -> None:
    raw = (
        b"From: mallory@example.com\r\nSubject: page attached\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
        b"--b\r\nContent-Type: text/html\r\n"
        b'Content-Disposition: attachment; filename="../../invoice.html"\r\n\r\n'
        b"<script>top.pwned = 'attachment'; alert('attachment')</script><h1>Invoice</h1>\r\n"
        b"--b--\r\n"
    )
    message_id = add(web_server.store, raw)
    page.goto(f"{web_server.url}/message/{message_id}")
    message_url = page.url

    # Followed as a plain link would be, without the download attribute the page puts on it.
    with page.expect_download() as downloading:
        page.evaluate(
            "url => { window.location.href = url; }", f"/api/v1/message/{message_id}/part/2"
        )

    assert downloading.value.suggested_filename == "invoice.html"
    assert page.url == message_url
    assert page.get_by_role("heading", name="Invoice").count() == 0
    assert pwned(page) == [None]
    assert watch.dialogs == []
