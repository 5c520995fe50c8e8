"""The reset flow when the mail server misbehaves, proven in a real browser with chaos.

The capture server's chaos triggers (``mailbox.chaos``) make it refuse the app's RCPT TO: with a
temporary 451 the app must keep the user's experience unchanged, log the failure and retry until
the mail goes through; with a permanent 550 it must give up after its bounded retries, log that,
and still show nothing but the neutral message. Waiting is always on a condition: the app's own
log records, the capture server's counters, or the message arriving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Response, expect

CHECK_EMAIL = "Check your email for the instructions to reset your password"
RESET_DONE = "Your password has been reset."
SUBJECT = "[Microblog] Reset Your Password"
NEW_PASSWORD = "brand-new-password-3"
MAIL_LOGGER = "app.email"


class LogWatch(logging.Handler):
    """Keeps the app's mail log records and wakes a waiting test when one arrives."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._arrived = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        """Store the record (called from the app's mail thread)."""
        with self._arrived:
            self.records.append(record)
            self._arrived.notify_all()

    def wait_for(
        self, matches: Callable[[logging.LogRecord], bool], timeout: float = 30
    ) -> logging.LogRecord:
        """The first record that ``matches``, waiting up to ``timeout`` seconds for it."""
        with self._arrived:
            found = self._arrived.wait_for(
                lambda: next((r for r in self.records if matches(r)), None), timeout
            )
        if found is None:
            seen = [r.getMessage() for r in self.records]
            raise AssertionError(f"no such log record within {timeout} s; logged: {seen}")
        return found

    def messages(self, level: int) -> list[str]:
        """The messages logged at exactly ``level``, in order."""
        with self._arrived:
            return [r.getMessage() for r in self.records if r.levelno == level]


@pytest.fixture
def mail_log() -> Iterator[LogWatch]:
    """What the app's background mail sender logs during the test, INFO and up."""
    logger = logging.getLogger(MAIL_LOGGER)
    watch = LogWatch()
    previous_level = logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(previous_level)


@pytest.fixture
def server_errors(page: Page) -> list[str]:
    """URLs the app answered with a 5xx error page while the test ran."""
    errors: list[str] = []

    def check(response: Response) -> None:
        if response.status >= 500:
            errors.append(f"{response.status} {response.url}")

    page.on("response", check)
    return errors


def request_reset(page: Page, app_url: str, email: str) -> None:
    """Ask for a reset link from the log-in page and see the neutral message."""
    page.goto(f"{app_url}/login")
    page.get_by_role("link", name="Click to Reset It").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Request Password Reset").click()
    expect(page.get_by_text(CHECK_EMAIL)).to_be_visible()
    expect(page).to_have_url(f"{app_url}/login")


def failed_attempt(number: int) -> Callable[[logging.LogRecord], bool]:
    """Matches the app's warning that attempt ``number`` to send the reset email failed."""
    return lambda record: (
        record.levelno == logging.WARNING
        and SUBJECT in record.getMessage()
        and f"attempt {number} of" in record.getMessage()
    )


def rejected(mailbox) -> int:
    """How many SMTP commands the capture server has refused so far."""
    return mailbox.info()["RuntimeStats"]["SMTPRejected"]


def test_temporary_refusal_is_retried_and_the_reset_completes(
    page: Page, live_app_factory, mailbox, mail_log: LogWatch, server_errors: list[str]
) -> None:
    # Retries 0.5, 1, 2, 4 and 8 s apart: long enough to clear the trigger in between.
    live_app = live_app_factory(MAIL_SEND_RETRIES=5, MAIL_RETRY_BACKOFF=0.5)
    susan = live_app.create_user("susan", "susan@example.com", "cat-on-keyboard-1")
    refused_before = rejected(mailbox)

    with mailbox.chaos(recipient=451):
        request_reset(page, live_app.url, susan.email)
        failure = mail_log.wait_for(failed_attempt(1))
        assert "451" in failure.getMessage() and "Chaos recipient error" in failure.getMessage()
        assert rejected(mailbox) > refused_before
        assert mailbox.messages() == []
    # The trigger is cleared on leaving the block; the next retry goes through.

    message = mailbox.wait_for(to=susan.email, subject=SUBJECT, timeout=30)
    sent = mail_log.wait_for(lambda record: record.getMessage().startswith("Sent "))
    assert SUBJECT in sent.getMessage()
    [link] = [url for url in message.links if "/reset_password/" in url]

    page.goto(link)
    expect(page.get_by_role("heading", name="Reset Your Password")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Reset Password").click()
    expect(page.get_by_text(RESET_DONE)).to_be_visible()
    page.get_by_label("Username").fill(susan.username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Hi, susan!")).to_be_visible()

    assert server_errors == []
    assert mail_log.messages(logging.ERROR) == []
    assert live_app.password_works("susan", NEW_PASSWORD)


def test_permanent_refusal_gives_up_after_bounded_retries(
    page: Page, live_app_factory, mailbox, mail_log: LogWatch, server_errors: list[str]
) -> None:
    live_app = live_app_factory(MAIL_SEND_RETRIES=2, MAIL_RETRY_BACKOFF=0.05)
    susan = live_app.create_user("susan", "susan@example.com", "cat-on-keyboard-1")
    refused_before = rejected(mailbox)

    with mailbox.chaos(recipient=550):
        request_reset(page, live_app.url, susan.email)
        live_app.wait_for_mail_jobs()

    failures = mail_log.messages(logging.WARNING)
    assert len(failures) == 3, failures
    for number, failure in enumerate(failures, start=1):
        assert f"attempt {number} of 3" in failure
        assert "550" in failure and "Chaos recipient error" in failure
    [gave_up] = mail_log.messages(logging.ERROR)
    assert "giving up" in gave_up and SUBJECT in gave_up and susan.email in gave_up
    assert rejected(mailbox) == refused_before + 3

    # The user saw only the neutral message on the log-in page: no error page, no email.
    expect(page.get_by_role("button", name="Sign In")).to_be_visible()
    expect(page.get_by_text(CHECK_EMAIL)).to_be_visible()
    assert server_errors == []
    assert mailbox.messages() == []
    assert live_app.password_works("susan", "cat-on-keyboard-1")
