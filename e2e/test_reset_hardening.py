"""Hardening of the reset flow seen from a real browser: a reset ends the sessions of every
other browser, and the reset link never leaks out of the page in a Referer header."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page, expect

CHECK_EMAIL = "Check your email for the instructions to reset your password"
RESET_DONE = "Your password has been reset."
SUBJECT = "[Microblog] Reset Your Password"
NEW_PASSWORD = "brand-new-password-2"
REMEMBER_COOKIE = "remember_token"


def reset_link_of(mailbox, to: str) -> str:
    """The reset link in the newest unseen email to ``to``, waiting for it to arrive."""
    message = mailbox.wait_for(to=to, subject=SUBJECT)
    (link,) = [url for url in message.links if "/reset_password/" in url]
    return link


def request_reset(page: Page, app_url: str, email: str) -> None:
    """Ask for a reset link for ``email`` on the request page."""
    page.goto(f"{app_url}/reset_password_request")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Request Password Reset").click()
    expect(page.get_by_text(CHECK_EMAIL)).to_be_visible()


def log_in_remembered(page: Page, app_url: str, username: str, password: str) -> None:
    """Sign in with "Remember Me" ticked and land on the greeting."""
    page.goto(f"{app_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Remember Me").check()
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()


def expect_sign_in_form(page: Page) -> None:
    """The browser was sent to the log-in form instead of the greeting."""
    expect(page.get_by_role("button", name="Sign In")).to_be_visible()
    expect(page.get_by_role("heading", name="Hi, susan!")).to_have_count(0)


def remember_cookie(context: BrowserContext) -> dict:
    """The remember-me cookie ``context`` holds."""
    (cookie,) = [c for c in context.cookies() if c["name"] == REMEMBER_COOKIE]
    return cookie


def test_reset_on_one_device_logs_out_the_others(browser: Browser, live_app, susan, mailbox):
    laptop, phone, stolen = (browser.new_context() for _ in range(3))
    try:
        laptop_page = laptop.new_page()
        log_in_remembered(laptop_page, live_app.url, susan.username, susan.password)
        # A copy of the remember-me cookie alone, as left on a shared computer.
        stolen.add_cookies([remember_cookie(laptop)])
        stolen_page = stolen.new_page()
        stolen_page.goto(f"{live_app.url}/index")
        expect(stolen_page.get_by_role("heading", name="Hi, susan!")).to_be_visible()
        stolen.clear_cookies()
        stolen.add_cookies([remember_cookie(laptop)])

        phone_page = phone.new_page()
        request_reset(phone_page, live_app.url, susan.email)
        phone_page.goto(reset_link_of(mailbox, susan.email))
        phone_page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        phone_page.get_by_label("Repeat Password").fill(NEW_PASSWORD)
        phone_page.get_by_role("button", name="Reset Password").click()
        expect(phone_page.get_by_text(RESET_DONE)).to_be_visible()

        laptop_page.reload()
        expect_sign_in_form(laptop_page)
        stolen_page.goto(f"{live_app.url}/index")
        expect_sign_in_form(stolen_page)
        log_in_remembered(laptop_page, live_app.url, susan.username, NEW_PASSWORD)
    finally:
        for context in (laptop, phone, stolen):
            context.close()


def test_leaving_the_reset_page_sends_no_referer(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, susan.email)
    link = reset_link_of(mailbox, susan.email)
    page.goto(link)
    expect(page.get_by_role("heading", name="Reset Your Password")).to_be_visible()

    with page.expect_request(f"{live_app.url}/index") as leaving:
        page.get_by_role("link", name="Microblog").click()

    assert "referer" not in leaving.value.headers
    expect_sign_in_form(page)
