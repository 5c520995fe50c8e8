"""Sending email without making the user wait, with bounded retries."""

import logging
import re
import smtplib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, current_app
from flask_mail import Message

from app.extensions import mail

log = logging.getLogger(__name__)

EXECUTOR_KEY = "mail_executor"
_LINE_BREAKS = re.compile(r"[\r\n]")


def make_executor() -> ThreadPoolExecutor:
    """The small pool of threads that background jobs of one app run on."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="microblog-mail")


def strip_line_breaks(value: str) -> str:
    """``value`` without CR or LF, so that it cannot add a header to a message."""
    return _LINE_BREAKS.sub("", value)


def build_message(
    subject: str, sender: str, recipients: list[str], text_body: str, html_body: str
) -> Message:
    """A message with a text and an HTML part; header values are cleaned of line breaks."""
    return Message(
        subject=strip_line_breaks(subject),
        sender=strip_line_breaks(sender),
        recipients=[strip_line_breaks(address) for address in recipients],
        body=text_body,
        html=html_body,
    )


def deliver(message: Message) -> bool:
    """Send ``message`` now, retrying with exponential backoff; True once it was accepted.

    Needs an app context. Every failure is logged with its reason; after the last retry the
    message is dropped with an error in the log, never an exception, because a lost email must
    not turn into an error page.
    """
    config = current_app.config
    attempts = config["MAIL_SEND_RETRIES"] + 1
    delay = config["MAIL_RETRY_BACKOFF"]
    for attempt in range(1, attempts + 1):
        try:
            mail.send(message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning(
                "Sending %r to %s failed (attempt %d of %d): %r",
                message.subject,
                ", ".join(map(str, message.recipients)),
                attempt,
                attempts,
                exc,
            )
        else:
            log.info("Sent %r to %s", message.subject, ", ".join(map(str, message.recipients)))
            return True
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    log.error(
        "giving up on %r to %s after %d attempts",
        message.subject,
        ", ".join(map(str, message.recipients)),
        attempts,
    )
    return False


def run_in_background(job: Callable[..., object], *args: object) -> Future | None:
    """Run ``job(*args)`` on the app's mail threads inside an app context.

    With ``MAIL_SEND_SYNC`` the job runs at once in the caller's thread instead, which makes
    tests deterministic. Returns the future of a background job, None for a synchronous one.
    """
    app = current_app._get_current_object()
    if app.config["MAIL_SEND_SYNC"]:
        job(*args)
        return None
    future = app.extensions[EXECUTOR_KEY].submit(_run_in_app_context, app, job, args)
    future.add_done_callback(_log_crash)
    return future


def send_email(
    subject: str, sender: str, recipients: list[str], text_body: str, html_body: str
) -> Future | None:
    """Send an email in the background and return at once (see ``run_in_background``)."""
    message = build_message(subject, sender, recipients, text_body, html_body)
    return run_in_background(deliver, message)


def _run_in_app_context(app: Flask, job: Callable[..., object], args: tuple) -> object:
    with app.app_context():
        return job(*args)


def _log_crash(future: Future) -> None:
    # A background job has nobody to raise to: without this its exception would vanish.
    exc = None if future.cancelled() else future.exception()
    if exc is not None:
        log.error("Background mail job failed", exc_info=exc)
