"""The inbox web UI in a real browser: list, message views, downloads, delete, live, safety."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from mail_sandbox.store import MessageStore

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4


def make_message(
    subject: str,
    *,
    sender: str = "Alice Example <alice@example.com>",
    to: str = "Bob Builder <bob@example.com>",
    cc: str | None = None,
    text: str = "Plain text greeting",
    html: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = "Tue, 03 Mar 2026 10:15:30 +0000"
    message["X-Sandbox-Test"] = "header value"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def add(store: MessageStore, raw: bytes) -> str:
    """Store a message directly (no SMTP) and return its ID."""
    return store.add(raw, "alice@example.com", ["bob@example.com"]).result(timeout=5)


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Messages of every alert/confirm/prompt the page (or its frames) opens."""
    seen: list[str] = []

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def test_list_shows_messages_newest_first(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("First message"))
    add(web_server.store, make_message("Second message", to="Carol <carol@example.com>"))

    response = page.goto(web_server.url)

    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page).to_have_title("Inbox (2 unread) · Mail Sandbox")
    rows = page.locator("table.messages tbody tr")
    expect(rows).to_have_count(2)
    newest = rows.nth(0)
    expect(newest.get_by_role("link", name="Second message")).to_be_visible()
    expect(newest).to_contain_text("Alice Example")
    expect(newest).to_contain_text("Carol")
    expect(newest).to_contain_text(re.compile(r"\d+(\.\d)? (B|kB)"))
    expect(newest).to_have_class(re.compile(r"\bunread\b"))
    expect(rows.nth(1).get_by_role("link", name="First message")).to_be_visible()


def test_search_box_filters_the_list(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("Welcome aboard"))
    add(web_server.store, make_message("Your invoice"))
    page.goto(web_server.url)

    page.get_by_role("searchbox", name="Search mail").fill("subject:invoice")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("link", name="Your invoice")).to_be_visible()
    expect(page.get_by_role("link", name="Welcome aboard")).to_have_count(0)


def test_bad_search_shows_a_clear_error(page: Page, web_server: Any) -> None:
    page.goto(web_server.url + "/?q=larger:lots")

    expect(page.get_by_role("alert")).to_contain_text("larger:lots")


def test_pagination_moves_to_older_messages(page: Page, web_server: Any) -> None:
    for number in range(51):
        add(web_server.store, make_message(f"Message {number:02d}"))
    page.goto(web_server.url)
    expect(page.locator("table.messages tbody tr")).to_have_count(50)

    page.get_by_role("link", name="Older").click()

    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Message 00")).to_be_visible()


def test_message_page_shows_fields_and_every_tab(page: Page, web_server: Any) -> None:
    add(
        web_server.store,
        make_message(
            "Tabbed message",
            cc="Carol Cc <carol@example.com>",
            text="The plain text version",
            html="<h1>HTML greeting</h1><p>In <b>bold</b></p>",
        ),
    )
    page.goto(web_server.url)

    page.get_by_role("link", name="Tabbed message").click()

    expect(page).to_have_url(re.compile(r"/message/[^/]+$"))
    expect(page.get_by_role("heading", name="Tabbed message")).to_be_visible()
    fields = page.locator("dl.fields")
    expect(fields).to_contain_text("Alice Example <alice@example.com>")
    expect(fields).to_contain_text("Bob Builder <bob@example.com>")
    expect(fields).to_contain_text("Carol Cc <carol@example.com>")
    expect(fields.locator("time")).to_have_attribute("datetime", "2026-03-03T10:15:30.000Z")

    html_tab = page.get_by_role("tab", name="HTML")
    expect(html_tab).to_have_attribute("aria-selected", "true")
    frame = page.frame_locator("iframe.email-frame")
    expect(frame.get_by_role("heading", name="HTML greeting")).to_be_visible()

    page.get_by_role("tab", name="Text").click()
    expect(page.get_by_role("tabpanel")).to_contain_text("The plain text version")
    expect(page.locator("iframe.email-frame")).to_be_hidden()

    page.get_by_role("tab", name="Headers").click()
    expect(page.get_by_role("tabpanel")).to_contain_text("X-Sandbox-Test")
    expect(page.get_by_role("tabpanel")).to_contain_text("header value")

    page.get_by_role("tab", name="Raw").click()
    expect(page.get_by_role("tabpanel")).to_contain_text("X-Sandbox-Test: header value")
    expect(page.get_by_role("tabpanel")).to_contain_text("Content-Type: multipart/alternative")


def test_opening_a_message_marks_it_read(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("Read me"))
    page.goto(web_server.url)
    expect(page).to_have_title("Inbox (1 unread) · Mail Sandbox")

    page.get_by_role("link", name="Read me").click()
    page.get_by_role("link", name="← Inbox").click()

    expect(page).to_have_title("Inbox (0 unread) · Mail Sandbox")
    expect(page.locator("table.messages tbody tr")).not_to_have_class(re.compile(r"\bunread\b"))


def test_attachment_downloads_with_its_bytes(page: Page, web_server: Any) -> None:
    message_id = add(
        web_server.store, make_message("With attachment", attachment=("report.pdf", PDF))
    )
    page.goto(f"{web_server.url}/message/{message_id}")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="report.pdf").click()

    download = download_info.value
    assert download.suggested_filename == "report.pdf"
    assert Path(download.path()).read_bytes() == PDF


def test_delete_removes_the_message(page: Page, web_server: Any) -> None:
    keep = add(web_server.store, make_message("Keep this one"))
    doomed = add(web_server.store, make_message("Delete this one"))
    page.goto(f"{web_server.url}/message/{doomed}")

    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(web_server.url + "/")
    expect(page.get_by_role("link", name="Keep this one")).to_be_visible()
    expect(page.get_by_role("link", name="Delete this one")).to_have_count(0)
    assert web_server.store.summary(doomed) is None
    assert web_server.store.summary(keep) is not None


def test_delete_all_empties_the_inbox(page: Page, web_server: Any) -> None:
    for subject in ("One", "Two"):
        add(web_server.store, make_message(subject))
    page.goto(web_server.url)

    page.get_by_text("Delete all", exact=True).click()
    page.get_by_role("button", name="Delete all messages").click()

    expect(page.get_by_text("No mail yet")).to_be_visible()
    assert web_server.store.counts() == (0, 0)


def test_new_mail_appears_without_reload(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("Already here"))
    page.goto(web_server.url)
    expect(page.locator("html")).to_have_attribute("data-live", "connected")
    page.evaluate("window.sameDocument = true")

    add(web_server.store, make_message("Fresh arrival"))

    expect(page.get_by_role("link", name="Fresh arrival")).to_be_visible()
    expect(page).to_have_title("Inbox (2 unread) · Mail Sandbox")
    assert page.evaluate("window.sameDocument") is True


def test_links_in_the_email_open_in_a_new_tab(page: Page, web_server: Any) -> None:
    target = f"{web_server.url}/?from=email"
    message_id = add(
        web_server.store, make_message("Has a link", html=f'<a href="{target}">Open the inbox</a>')
    )
    page.goto(f"{web_server.url}/message/{message_id}")

    with page.expect_popup() as popup_info:
        page.frame_locator("iframe.email-frame").get_by_role("link", name="Open the inbox").click()

    popup = popup_info.value
    expect(popup).to_have_url(target)
    expect(page).to_have_url(f"{web_server.url}/message/{message_id}")


HOSTILE_HTML = """<html><head><title>x</title></head><body>
<p>Before the script</p>
<script>window.pwned = "html"; parent.pwned = "html"; document.body.dataset.pwned = "yes";
alert("html script");</script>
<img src="x-invalid:" onerror="window.pwned = 'onerror'; alert('onerror')">
<p id="after">After the script</p>
</body></html>"""
HOSTILE_SUBJECT = '<script>window.pwned = "subject"; alert("subject")</script><b>bold?</b>'


def test_script_in_an_email_never_runs(page: Page, web_server: Any, dialogs: list[str]) -> None:
    message_id = add(web_server.store, make_message(HOSTILE_SUBJECT, html=HOSTILE_HTML))

    page.goto(web_server.url)
    expect(page.get_by_role("link", name=HOSTILE_SUBJECT)).to_be_visible()
    page.get_by_role("link", name=HOSTILE_SUBJECT).click()

    expect(page.get_by_role("heading", name=HOSTILE_SUBJECT)).to_be_visible()
    iframe = page.locator("iframe.email-frame")
    expect(iframe).to_have_attribute("sandbox", "allow-popups allow-popups-to-escape-sandbox")
    email = page.frame_locator("iframe.email-frame")
    # The script sits before this paragraph: had it run, it would have run by now.
    expect(email.locator("#after")).to_be_visible()
    expect(email.locator("body")).not_to_have_attribute("data-pwned", "yes")
    frame = page.frame(url=re.compile(rf"/message/{re.escape(message_id)}/html$"))
    assert frame is not None
    assert frame.evaluate("() => window.pwned") is None
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("b", has_text="bold?").count() == 0
    assert dialogs == []


def test_email_html_opened_directly_runs_no_script(
    page: Page, web_server: Any, dialogs: list[str]
) -> None:
    message_id = add(web_server.store, make_message("Direct", html=HOSTILE_HTML))

    response = page.goto(f"{web_server.url}/message/{message_id}/html")

    assert response is not None
    assert "sandbox" in response.headers["content-security-policy"]
    expect(page.locator("#after")).to_be_visible()
    expect(page.locator("body")).not_to_have_attribute("data-pwned", "yes")
    assert page.evaluate("() => window.pwned") is None
    assert dialogs == []
