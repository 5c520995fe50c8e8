"""A mailbox's inbox in a real browser: its mail arrives live and no other mailbox's does,
a message opens inside the mailbox, and the header's switcher moves between mailboxes."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

from playwright.sync_api import Page, expect

from mail_sandbox.store import MessageStore


def add(store: MessageStore, subject: str, *, html: str | None = None) -> str:
    """Store a message directly (no SMTP) and return its ID."""
    email = EmailMessage()
    email["From"] = "Alice Example <alice@example.com>"
    email["To"] = "bob@example.com"
    email["Subject"] = subject
    email.set_content(f"Text of {subject}")
    if html is not None:
        email.add_alternative(html, subtype="html")
    return store.add(email.as_bytes(), "alice@example.com", ["bob@example.com"]).result(10)


def switcher_entry(page: Page, name: str) -> Any:
    """The switcher's list item for mailbox ``name``."""
    menu = page.get_by_role("navigation", name="Mailboxes")
    return menu.get_by_role("listitem").filter(has=page.get_by_role("link", name=name, exact=True))


def open_live(page: Page, url: str) -> None:
    """Open an inbox page and wait until its live stream is connected."""
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-live", "connected")
    page.evaluate("window.sameDocument = true")


def test_a_mailbox_inbox_gets_its_own_mail_live(page: Page, web_server: Any) -> None:
    store = web_server.store
    store.create_mailbox("a")
    store.create_mailbox("b")
    add(store, "Mail for default")
    open_live(page, f"{web_server.url}/m/a/")
    expect(page.get_by_text("No mail yet")).to_be_visible()

    add(store.mailbox("b"), "Mail for b")
    add(store.mailbox("a"), "Mail for a")

    expect(page.get_by_role("link", name="Mail for a")).to_be_visible()
    expect(page).to_have_title("Inbox (1 unread) · Mail Sandbox")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Mail for b")).to_have_count(0)
    expect(page.get_by_role("link", name="Mail for default")).to_have_count(0)
    assert page.evaluate("window.sameDocument") is True


def test_the_switcher_counts_update_live_in_an_open_menu(page: Page, web_server: Any) -> None:
    store = web_server.store
    store.create_mailbox("a")
    store.create_mailbox("b")
    open_live(page, f"{web_server.url}/m/a/")
    switcher = page.get_by_role("navigation", name="Mailboxes")
    switcher.get_by_text("Mailboxes").click()
    expect(switcher_entry(page, "a")).to_contain_text("0 messages, 0 unread")

    add(store.mailbox("b"), "Mail for b")
    add(store.mailbox("a"), "Mail for a")

    expect(page.get_by_role("link", name="Mail for a")).to_be_visible()
    expect(switcher_entry(page, "a")).to_contain_text("1 message, 1 unread")
    expect(switcher_entry(page, "b")).to_contain_text("1 message, 1 unread")
    expect(switcher.get_by_role("link", name="b", exact=True)).to_be_visible()  # still open
    assert page.evaluate("window.sameDocument") is True


def test_a_message_opens_inside_its_mailbox(page: Page, web_server: Any) -> None:
    web_server.store.create_mailbox("a")
    message_id = add(web_server.store.mailbox("a"), "Open me", html="<p>HTML of Open me</p>")
    page.goto(f"{web_server.url}/m/a/")

    page.get_by_role("link", name="Open me").click()

    expect(page).to_have_url(f"{web_server.url}/m/a/message/{message_id}")
    expect(page.get_by_role("heading", name="Open me")).to_be_visible()
    expect(page.frame_locator("iframe.email-frame").get_by_text("HTML of Open me")).to_be_visible()
    page.get_by_role("link", name="← Inbox").click()
    expect(page).to_have_url(f"{web_server.url}/m/a/")
    expect(page.locator("table.messages tbody tr")).not_to_have_class(re.compile(r"\bunread\b"))


def test_the_switcher_moves_between_mailboxes(page: Page, web_server: Any) -> None:
    store = web_server.store
    store.create_mailbox("a")
    store.create_mailbox("b")
    store.create_mailbox("locked", password="secret")
    add(store.mailbox("b"), "Waiting in b")
    page.goto(f"{web_server.url}/m/a/")
    switcher = page.get_by_role("navigation", name="Mailboxes")
    expect(switcher.locator("summary")).to_have_text("Mailboxes a")
    expect(switcher.get_by_role("link")).to_have_count(0)  # closed until asked

    switcher.get_by_text("Mailboxes").click()
    links = switcher.get_by_role("link")
    expect(links).to_have_text(["default", "a", "b"])
    expect(switcher.get_by_role("link", name="a", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    page.keyboard.press("Escape")
    expect(links).to_have_count(0)
    expect(switcher.locator("summary")).to_be_focused()

    page.keyboard.press("Enter")
    switcher.get_by_role("link", name="b", exact=True).click()

    expect(page).to_have_url(f"{web_server.url}/m/b/")
    expect(page.get_by_role("link", name="Waiting in b")).to_be_visible()
    expect(switcher.locator("summary")).to_have_text("Mailboxes b")
    switcher.get_by_text("Mailboxes").click()
    switcher.get_by_role("link", name="default", exact=True).click()
    expect(page).to_have_url(f"{web_server.url}/")
    expect(page.get_by_text("No mail yet")).to_be_visible()


def test_the_open_switcher_fits_a_phone_screen(page: Page, web_server: Any) -> None:
    web_server.store.create_mailbox("a-rather-long-mailbox-name-to-see-where-it-wraps")
    web_server.store.create_mailbox("ci-4711")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{web_server.url}/m/ci-4711/")

    page.get_by_role("navigation", name="Mailboxes").get_by_text("Mailboxes").click()

    menu = page.locator(".switcher-list")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
