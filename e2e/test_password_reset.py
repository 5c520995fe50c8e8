"""The password reset, clicked through in a real browser as a person would do it.

The app sends its mail to the pytest plugin's capture server; the tests read it in the inbox UI
(or take the link from the text part) and follow it, waiting on conditions only.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

CHECK_EMAIL = "Check your email for the instructions to reset your password"
RESET_DONE = "Your password has been reset."
LINK_INVALID = "The password reset link is invalid or has expired."
SUBJECT = "[Microblog] Reset Your Password"
NEW_PASSWORD = "brand-new-password-2"


def request_reset(page: Page, app_url: str, email: str) -> None:
    """From the log-in page, ask for a reset link for ``email``."""
    page.goto(f"{app_url}/login")
    expect(page.get_by_text("Forgot Your Password?")).to_be_visible()
    page.get_by_role("link", name="Click to Reset It").click()
    expect(page.get_by_role("heading", name="Reset Password")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Request Password Reset").click()
    expect(page.get_by_text(CHECK_EMAIL)).to_be_visible()
    expect(page).to_have_url(f"{app_url}/login")


def set_new_password(page: Page, password: str, repeat: str | None = None) -> None:
    """On the reset page, type a new password twice and submit."""
    expect(page.get_by_role("heading", name="Reset Your Password")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat Password").fill(password if repeat is None else repeat)
    page.get_by_role("button", name="Reset Password").click()


def log_in(page: Page, app_url: str, username: str, password: str) -> None:
    """Sign in through the log-in form."""
    page.goto(f"{app_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def expect_logged_in(page: Page, username: str) -> None:
    """The index greets ``username``."""
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()


def expect_refused_login(page: Page) -> None:
    """The log-in form is shown again with the failure message."""
    expect(page.get_by_text("Invalid username or password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign In")).to_be_visible()


def open_in_inbox(page: Page, inbox_url: str, to: str) -> None:
    """Open the inbox and the reset email sent to ``to``."""
    page.goto(inbox_url)
    row = page.get_by_role("row").filter(has_text=to)
    row.get_by_role("link", name=re.compile(re.escape(SUBJECT))).click()
    expect(page.get_by_role("heading", name=SUBJECT)).to_be_visible()


def reset_link_of(mailbox, to: str) -> str:
    """The reset link in the newest unseen email to ``to``, waiting for it to arrive."""
    message = mailbox.wait_for(to=to, subject=SUBJECT)
    (link,) = [url for url in message.links if "/reset_password/" in url]
    return link


def test_whole_reset_through_the_inbox_html_view(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, susan.email)
    mailbox.wait_for(to=susan.email, subject=SUBJECT)

    open_in_inbox(page, mailbox.url, susan.email)
    page.get_by_role("tab", name="HTML").click()
    email_body = page.frame_locator("iframe[title='HTML body of the message']")
    with page.context.expect_page() as opened:
        email_body.get_by_role("link", name="click here").click()
    reset_page = opened.value
    expect(reset_page).to_have_url(re.compile(re.escape(live_app.url) + r"/reset_password/.+"))

    set_new_password(reset_page, NEW_PASSWORD)
    expect(reset_page.get_by_text(RESET_DONE)).to_be_visible()
    expect(reset_page).to_have_url(f"{live_app.url}/login")
    log_in(reset_page, live_app.url, susan.username, NEW_PASSWORD)
    expect_logged_in(reset_page, "susan")

    reset_page.get_by_role("link", name="Logout").click()
    log_in(reset_page, live_app.url, susan.username, susan.password)
    expect_refused_login(reset_page)


def test_reset_with_the_link_from_the_text_part(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, susan.email)
    mailbox.wait_for(to=susan.email, subject=SUBJECT)

    open_in_inbox(page, mailbox.url, susan.email)
    page.get_by_role("tab", name="Text").click()
    text = page.get_by_role("tabpanel").inner_text()
    link = re.search(r"http://\S+/reset_password/\S+", text).group(0)
    page.goto(link)  # pasted into the address bar

    set_new_password(page, NEW_PASSWORD)
    expect(page.get_by_text(RESET_DONE)).to_be_visible()
    log_in(page, live_app.url, susan.username, NEW_PASSWORD)
    expect_logged_in(page, "susan")


def test_unknown_email_gets_the_same_flash_and_no_email(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, "nobody@example.com")
    live_app.wait_for_mail_jobs()
    assert mailbox.messages() == []


def test_link_used_twice_is_refused(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, susan.email)
    link = reset_link_of(mailbox, susan.email)
    page.goto(link)
    set_new_password(page, NEW_PASSWORD)
    expect(page.get_by_text(RESET_DONE)).to_be_visible()

    page.goto(link)
    expect(page.get_by_text(LINK_INVALID)).to_be_visible()
    expect(page).to_have_url(f"{live_app.url}/reset_password_request")
    assert live_app.password_works("susan", NEW_PASSWORD)


def test_expired_link_is_refused(page: Page, live_app_factory, mailbox):
    # A TTL of 0 makes every link expire the moment it is made: no waiting for a clock.
    app = live_app_factory(RESET_PASSWORD_TOKEN_TTL=0)
    susan = app.create_user("susan", "susan@example.com", "cat-on-keyboard-1")
    request_reset(page, app.url, susan.email)
    page.goto(reset_link_of(mailbox, susan.email))
    expect(page.get_by_text(LINK_INVALID)).to_be_visible()
    expect(page).to_have_url(f"{app.url}/reset_password_request")
    assert app.password_works("susan", susan.password)


def test_tampered_link_is_refused(page: Page, live_app, susan, mailbox):
    request_reset(page, live_app.url, susan.email)
    link = reset_link_of(mailbox, susan.email)
    header, payload, signature = link.rsplit("/", 1)[1].split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    page.goto(link.replace(signature, forged_signature))
    expect(page.get_by_text(LINK_INVALID)).to_be_visible()
    expect(page).to_have_url(f"{live_app.url}/reset_password_request")
    assert live_app.password_works("susan", susan.password)


def test_mismatched_passwords_show_the_error_and_keep_the_old_one(
    page: Page, live_app, susan, mailbox
):
    request_reset(page, live_app.url, susan.email)
    page.goto(reset_link_of(mailbox, susan.email))
    set_new_password(page, NEW_PASSWORD, repeat=NEW_PASSWORD + "-typo")
    expect(page.get_by_text("Field must be equal to password.")).to_be_visible()
    expect(page.get_by_role("heading", name="Reset Your Password")).to_be_visible()

    log_in(page, live_app.url, susan.username, susan.password)
    expect_logged_in(page, "susan")


def test_logged_in_user_opening_a_reset_page_lands_on_the_index(
    page: Page, live_app, susan, mailbox
):
    request_reset(page, live_app.url, susan.email)
    link = reset_link_of(mailbox, susan.email)
    log_in(page, live_app.url, susan.username, susan.password)
    expect_logged_in(page, "susan")

    for url in (f"{live_app.url}/reset_password_request", link):
        page.goto(url)
        expect(page).to_have_url(f"{live_app.url}/index")
        expect_logged_in(page, "susan")


def test_two_users_resetting_at_once_each_get_only_their_own_link(
    browser: Browser, live_app, mailbox
):
    users = [
        live_app.create_user("susan", "susan@example.com", "cat-on-keyboard-1"),
        live_app.create_user("john", "john@example.com", "dog-on-keyboard-2"),
    ]
    contexts = [browser.new_context() for _ in users]
    try:
        pages = [context.new_page() for context in contexts]
        for page, user in zip(pages, users, strict=True):
            page.goto(f"{live_app.url}/reset_password_request")
            page.get_by_label("Email").fill(user.email)
        # Both requests in flight together, as two people clicking at the same moment.
        for page in pages:
            page.get_by_role("button", name="Request Password Reset").click(no_wait_after=True)
        for page in pages:
            expect(page.get_by_text(CHECK_EMAIL)).to_be_visible()

        links = {user.username: reset_link_of(mailbox, user.email) for user in users}
        assert links["susan"] != links["john"]
        for message in mailbox.messages():
            assert len(message.to) == 1
            own = links[{"susan@example.com": "susan", "john@example.com": "john"}[message.to[0]]]
            assert message.links == [own]

        for page, user in zip(pages, users, strict=True):
            page.goto(links[user.username])
            set_new_password(page, f"new-{user.username}-password")
            expect(page.get_by_text(RESET_DONE)).to_be_visible()
        for user in users:
            assert live_app.password_works(user.username, f"new-{user.username}-password")
    finally:
        for context in contexts:
            context.close()
