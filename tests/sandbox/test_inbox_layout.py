"""The inbox in a real browser at phone and desktop widths: nothing sticks out sideways, the
attachment icon stays in view, "Delete all" asks first, and the link check counts honestly."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mail_sandbox.store import MessageStore

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_SUBJECT = "Your weekly account activity summary and security review " * 6


def make_message(subject: str, *, text: str = "Hello there", attachment: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "Bob Builder <bob@example.com>"
    message["Subject"] = subject
    message.set_content(text)
    if attachment:
        message.add_attachment(
            b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="a.pdf"
        )
    return message.as_bytes()


def add(store: MessageStore, raw: bytes) -> str:
    """Store a message directly (no SMTP) and return its ID."""
    return store.add(raw, "alice@example.com", ["bob@example.com"]).result(timeout=5)


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"]
        and inner["y"] >= outer["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def show_long_subjects(page: Page, web_server: Any, viewport: dict[str, int]) -> Any:
    """The inbox with a very long subject and a short one, both with an attachment."""
    add(web_server.store, make_message(LONG_SUBJECT, attachment=True))
    add(web_server.store, make_message("Short one", attachment=True))
    page.set_viewport_size(viewport)
    page.goto(web_server.url)
    rows = page.locator("table.messages tbody tr")
    expect(rows).to_have_count(2)
    return rows


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_long_subject_does_not_scroll_the_page_sideways(
    page: Page, web_server: Any, viewport: dict[str, int]
) -> None:
    show_long_subjects(page, web_server, viewport)

    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_attachment_icon_stays_in_view_after_a_long_subject(
    page: Page, web_server: Any, viewport: dict[str, int]
) -> None:
    rows = show_long_subjects(page, web_server, viewport)

    for row in (rows.nth(0), rows.nth(1)):
        icon = row.locator(".clip svg")
        cell = row.locator("td.col-subject")
        # The live inbox may draw the rows again just after they appear: wait for the icon.
        expect(icon).to_be_visible()
        icon_box, cell_box, row_box = icon.bounding_box(), cell.bounding_box(), row.bounding_box()
        assert icon_box and cell_box and row_box
        assert icon_box["width"] > 0
        assert inside(icon_box, cell_box), (icon_box, cell_box)
        assert inside(icon_box, row_box), (icon_box, row_box)
        assert icon_box["x"] + icon_box["width"] <= viewport["width"]


def test_delete_all_asks_first_and_keeps_the_mail_when_cancelled(
    page: Page, web_server: Any
) -> None:
    for subject in ("One", "Two"):
        add(web_server.store, make_message(subject))
    page.goto(web_server.url)

    page.get_by_text("Delete all", exact=True).click()
    confirm = page.get_by_role("button", name="Delete all messages")
    expect(confirm).to_be_visible()
    page.get_by_role("button", name="Cancel").click()

    expect(confirm).to_be_hidden()
    expect(page.locator("table.messages tbody tr")).to_have_count(2)
    assert web_server.store.counts() == (2, 2)


def test_delete_all_asks_first_without_javascript_too(browser: Any, web_server: Any) -> None:
    add(web_server.store, make_message("Keep me"))
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(web_server.url)

        page.get_by_text("Delete all", exact=True).click()
        assert web_server.store.counts() == (1, 1)
        page.get_by_role("button", name="Delete all messages").click()

        expect(page.get_by_text("No mail yet")).to_be_visible()
        assert web_server.store.counts() == (0, 0)
    finally:
        context.close()


def test_link_check_summary_counts_skipped_links_apart(page: Page, web_server: Any) -> None:
    links = " ".join(f"https://offsite{n}.example/path" for n in range(3))
    message_id = add(web_server.store, make_message("Offsite links", text=f"See {links}"))
    page.goto(f"{web_server.url}/message/{message_id}")

    page.get_by_role("button", name="Check links").click()

    status = page.locator("#link-check").get_by_role("status")
    expect(status).to_have_text("0 links checked, 3 skipped (host not allowed).")
    expect(page.locator("#link-check tbody tr")).to_have_count(3)
