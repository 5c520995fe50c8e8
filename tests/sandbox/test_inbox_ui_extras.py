"""The inbox's extras in a real browser: tags, the link check, light and dark themes, the HTML
preview's width toggle and the unread count in the title."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from mail_sandbox.server import LoopThread
from mail_sandbox.store import MessageStore

OFFSITE_LINK = "https://example.com/offsite-offer"
EMAIL_HTML = "<h1>Hello</h1><p id='body-text'>An email with no colours of its own.</p>"


def make_message(
    subject: str, *, tags: str | None = None, text: str = "Hello", html: str | None = None
) -> bytes:
    """An email, tagged through the X-Tags header when ``tags`` is given."""
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "Bob Builder <bob@example.com>"
    message["Subject"] = subject
    if tags is not None:
        message["X-Tags"] = tags
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def add(store: MessageStore, raw: bytes) -> str:
    """Store a message directly (no SMTP) and return its ID."""
    return store.add(raw, "alice@example.com", ["bob@example.com"]).result(timeout=5)


@dataclass
class LinkTarget:
    """A web server on loopback that emailed links point at; it records the paths asked for."""

    url: str
    requested: list[str] = field(default_factory=list)


@pytest.fixture
def link_target() -> Iterator[LinkTarget]:
    """A loopback server the link check may contact: ``/ok`` answers 200, anything else 404."""
    target = LinkTarget(url="")

    async def answer(request: web.Request) -> web.Response:
        target.requested.append(request.path)
        if request.path == "/ok":
            return web.Response(text="fine")
        return web.Response(status=404, text="no such page")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner.addresses[0][1]

    loop = LoopThread()
    try:
        target.url = f"http://127.0.0.1:{loop.run(start())}"
        yield target
        loop.run(runner.cleanup())
    finally:
        loop.stop()


def relative_luminance(css_colour: str) -> float:
    """WCAG relative luminance of a computed ``rgb()``/``rgba()`` colour."""
    channels = [int(value) for value in re.findall(r"\d+", css_colour)[:3]]
    linear = [
        c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
        for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two computed colours (1 to 21)."""
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def colours(page: Page, selector: str) -> tuple[str, str]:
    """``(color, background-color)`` as the browser computed them for the first match."""
    return page.locator(selector).first.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )


def test_tags_show_in_the_list_and_a_click_filters_by_tag(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("Release plan", tags="release notes, urgent"))
    add(web_server.store, make_message("Lunch on Friday", tags="social"))
    add(web_server.store, make_message("No tags here"))
    page.goto(web_server.url)

    rows = page.locator("table.messages tbody tr")
    release = rows.filter(has=page.get_by_role("link", name="Release plan"))
    expect(release.get_by_role("link", name="release notes", exact=True)).to_be_visible()
    expect(release.get_by_role("link", name="urgent", exact=True)).to_be_visible()
    lunch = rows.filter(has=page.get_by_role("link", name="Lunch on Friday"))
    expect(lunch.get_by_role("link", name="social", exact=True)).to_be_visible()
    untagged = rows.filter(has=page.get_by_role("link", name="No tags here"))
    expect(untagged.locator(".tag")).to_have_count(0)

    release.get_by_role("link", name="release notes", exact=True).click()

    expect(page).to_have_url(re.compile(r"\?q=tag%3A%22release\+notes%22$"))
    expect(page.get_by_role("searchbox", name="Search mail")).to_have_value('tag:"release notes"')
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name="Release plan")).to_be_visible()
    expect(page.get_by_text("1 message matches")).to_be_visible()


def test_message_page_shows_tags_and_a_click_filters_by_tag(page: Page, web_server: Any) -> None:
    tagged = add(web_server.store, make_message("Deploy failed", tags="urgent, ops"))
    add(web_server.store, make_message("Coffee", tags="social"))
    page.goto(f"{web_server.url}/message/{tagged}")

    fields = page.locator("dl.fields")
    expect(fields.get_by_role("link", name="urgent", exact=True)).to_be_visible()
    expect(fields.get_by_role("link", name="ops", exact=True)).to_be_visible()

    fields.get_by_role("link", name="ops", exact=True).click()

    expect(page.get_by_role("searchbox", name="Search mail")).to_have_value("tag:ops")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Deploy failed")).to_be_visible()


def test_check_links_shows_each_links_status(
    page: Page, web_server: Any, link_target: LinkTarget
) -> None:
    good, missing = f"{link_target.url}/ok", f"{link_target.url}/missing"
    message_id = add(
        web_server.store,
        make_message(
            "Links inside",
            text=f"Open {good} or {missing}.",
            html=f'<a href="{good}">Good</a> <a href="{OFFSITE_LINK}">Offer</a>',
        ),
    )
    page.goto(f"{web_server.url}/message/{message_id}")

    page.get_by_role("button", name="Check links").click()

    results = page.locator("#link-check")
    expect(results.get_by_role("status")).to_have_text(
        "2 links checked (1 error), 1 skipped (host not allowed)."
    )
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(3)
    ok_row = rows.filter(has_text=good)
    expect(ok_row.locator("td")).to_have_text(["OK", good, "200", "OK"])
    missing_row = rows.filter(has_text=missing)
    expect(missing_row.locator("td")).to_have_text(["Error", missing, "404", "Not Found"])
    expect(missing_row).to_have_class("error")
    offsite_row = rows.filter(has_text=OFFSITE_LINK)
    expect(offsite_row.locator("td")).to_have_text(
        ["Skipped", OFFSITE_LINK, "—", "skipped: host not allowed"]
    )
    assert "/ok" in link_target.requested
    assert "/missing" in link_target.requested


def test_check_links_explains_a_failed_check(page: Page, web_server: Any) -> None:
    message_id = add(web_server.store, make_message("Soon gone", text="See http://127.0.0.1:9/"))
    page.goto(f"{web_server.url}/message/{message_id}")
    web_server.store.delete([message_id])

    page.get_by_role("button", name="Check links").click()

    status = page.locator("#link-check").get_by_role("status")
    expect(status).to_contain_text("Could not check the links:")
    expect(page.locator("#link-check tbody tr")).to_have_count(0)
    expect(page.get_by_role("button", name="Check links")).to_be_enabled()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_follows_the_system_setting_and_stays_readable(
    page: Page, web_server: Any, scheme: str
) -> None:
    message_id = add(web_server.store, make_message("Themed", tags="urgent", html=EMAIL_HTML))
    page.emulate_media(color_scheme=scheme)
    page.goto(web_server.url)

    text, background = colours(page, "body")
    if scheme == "dark":
        assert relative_luminance(background) < 0.05, background
    else:
        assert relative_luminance(background) > 0.8, background
    assert contrast(text, background) >= 7
    assert contrast(*colours(page, ".search button")) >= 4.5
    assert contrast(*colours(page, ".tag")) >= 4.5

    page.goto(f"{web_server.url}/message/{message_id}")
    email = page.frame_locator("iframe.email-frame")
    expect(email.locator("#body-text")).to_be_visible()
    # The email keeps the light page it was written for, whatever the inbox's theme.
    email_text = email.locator("#body-text").evaluate("el => getComputedStyle(el).color")
    frame_background = page.locator("iframe.email-frame").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert relative_luminance(frame_background) == 1.0, frame_background
    assert contrast(email_text, frame_background) >= 7
    heading, surround = colours(page, ".message h1"), colours(page, ".message")[1]
    assert contrast(heading[0], surround) >= 7


def test_width_toggle_resizes_the_preview_and_is_remembered(page: Page, web_server: Any) -> None:
    message_id = add(web_server.store, make_message("Wide or narrow", html=EMAIL_HTML))
    page.goto(f"{web_server.url}/message/{message_id}")
    widths = page.get_by_role("group", name="Preview width")
    phone = widths.get_by_role("button", name="Phone")
    tablet = widths.get_by_role("button", name="Tablet")
    full = widths.get_by_role("button", name="Full width")
    frame = page.locator("iframe.email-frame")
    expect(full).to_have_attribute("aria-pressed", "true")
    expect(phone).to_have_attribute("aria-pressed", "false")

    phone.click()

    expect(phone).to_have_attribute("aria-pressed", "true")
    expect(full).to_have_attribute("aria-pressed", "false")
    expect(frame).to_have_css("width", "375px")
    expect(page.frame_locator("iframe.email-frame").get_by_role("heading")).to_have_text("Hello")

    page.reload()

    expect(phone).to_have_attribute("aria-pressed", "true")
    expect(frame).to_have_css("width", "375px")

    tablet.click()
    expect(tablet).to_have_attribute("aria-pressed", "true")
    expect(frame).to_have_css("width", "768px")

    full.click()
    expect(full).to_have_attribute("aria-pressed", "true")
    expect(frame).not_to_have_css("width", "768px")
    frame_box, panel_box = frame.bounding_box(), page.locator("#panel-html").bounding_box()
    assert frame_box is not None and panel_box is not None
    assert frame_box["width"] == pytest.approx(panel_box["width"], abs=1)


def test_title_counts_unread_mail_live(page: Page, web_server: Any) -> None:
    first = add(web_server.store, make_message("First"))
    page.goto(web_server.url)
    expect(page).to_have_title("Inbox (1 unread) · Mail Sandbox")
    expect(page.locator("html")).to_have_attribute("data-live", "connected")
    page.evaluate("window.sameDocument = true")

    add(web_server.store, make_message("Second"))
    expect(page).to_have_title("Inbox (2 unread) · Mail Sandbox")

    # Opened in another tab, as a middle click would.
    other_tab = page.context.new_page()
    other_tab.goto(f"{web_server.url}/message/{first}")
    expect(other_tab.get_by_role("heading", name="First")).to_be_visible()

    expect(page).to_have_title("Inbox (1 unread) · Mail Sandbox")
    assert page.evaluate("window.sameDocument") is True


def test_title_counts_a_read_after_going_back(page: Page, web_server: Any) -> None:
    add(web_server.store, make_message("Only one"))
    page.goto(web_server.url)
    expect(page).to_have_title("Inbox (1 unread) · Mail Sandbox")

    page.get_by_role("link", name="Only one").click()
    expect(page.get_by_role("heading", name="Only one")).to_be_visible()
    page.go_back()

    expect(page).to_have_title("Inbox (0 unread) · Mail Sandbox")
    expect(page.locator("table.messages tbody tr")).not_to_have_class(re.compile(r"\bunread\b"))
