"""Asking for a reset tells nobody whether an address has an account: the answer is the same,
byte for byte, and takes the same time."""

import random
import re
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from app_helpers import EMAIL, NEUTRAL_FLASH
from flask import Flask

from app.email import EXECUTOR_KEY

UNKNOWN = "nobody@example.com"
MASK = "<masked>"
WARM_UP_ROUNDS = 4
ROUNDS = WARM_UP_ROUNDS + 50
TRIES = 3
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SESSION_COOKIE = re.compile(r"^session=([^;]*)")


def _mask(pattern: re.Pattern, text: str) -> str:
    return pattern.sub(lambda m: m.group(0).replace(m.group(1), MASK), text)


def _masked(response) -> tuple:
    """Status, headers and body, with the per-client CSRF token and session cookie hidden."""
    headers = [
        (name, _mask(SESSION_COOKIE, value) if name == "Set-Cookie" else value)
        for name, value in response.headers.items()
    ]
    body = _mask(CSRF_FIELD, response.get_data(as_text=True))
    return response.status_code, headers, body


def _ask_for_a_reset(client, email: str) -> tuple:
    """Go through the request form as a browser would: (redirect, the page it leads to)."""
    form = client.get("/reset_password_request")
    redirect = client.post(
        "/reset_password_request",
        data={"csrf_token": CSRF_FIELD.search(form.text).group(1), "email": email},
    )
    return redirect, client.get(redirect.location)


def test_known_and_unknown_addresses_get_byte_identical_answers(make_app, user, outbox):
    app = make_app(WTF_CSRF_ENABLED=True)

    known_redirect, known_page = _ask_for_a_reset(app.test_client(), EMAIL)
    unknown_redirect, unknown_page = _ask_for_a_reset(app.test_client(), UNKNOWN)

    assert [message.recipients for message in outbox] == [[EMAIL]]
    assert known_redirect.status_code == 302
    assert known_redirect.location == "/login"
    assert NEUTRAL_FLASH in known_page.get_data(as_text=True)
    assert _masked(unknown_redirect) == _masked(known_redirect)
    assert _masked(unknown_page) == _masked(known_page)


@contextmanager
def _background_jobs_held(app: Flask) -> Iterator[None]:
    """Queue the app's background jobs while the block runs; they run once it ends.

    The app gets a single mail thread, kept busy meanwhile, so that no job competes with the
    timed requests for the CPU: that would only add noise to the timings.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="held-mail")
    app.extensions[EXECUTOR_KEY].shutdown()
    app.extensions[EXECUTOR_KEY] = executor
    release = threading.Event()
    executor.submit(release.wait, 60)
    try:
        yield
    finally:
        release.set()


def _best_time(app: Flask, email: str) -> float:
    """The shortest of a few requests for ``email``: a busy machine only ever adds time.

    Each comes from a new client, as from a new visitor, so no session grows along the way.
    """
    times = []
    for _ in range(TRIES):
        client = app.test_client()
        start = time.perf_counter()
        response = client.post("/reset_password_request", data={"email": email})
        times.append(time.perf_counter() - start)
        assert response.location == "/login"
    return min(times)


def test_known_and_unknown_addresses_take_the_same_time(make_app, user, smtp_server):
    handler, port = smtp_server
    # A real mail server takes a while to answer: a request that waited for it would show.
    handler.delay = 0.05
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port, MAIL_SEND_SYNC=False)
    timings: dict[str, list[float]] = {EMAIL: [], UNKNOWN: []}
    shuffler = random.Random(5)

    with _background_jobs_held(app):
        for round_number in range(ROUNDS):
            # A shuffled order, so that nothing periodic (going first, the scheduler's time
            # slices on a busy machine) always falls on the same address.
            for email in shuffler.sample((EMAIL, UNKNOWN), 2):
                best = _best_time(app, email)
                if round_number >= WARM_UP_ROUNDS:
                    timings[email].append(best)
    handler.delay = 0
    app.extensions[EXECUTOR_KEY].shutdown(wait=True)  # returns once every queued job has run

    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [[EMAIL]] * ROUNDS * TRIES
    known, unknown = (statistics.median(timings[email]) for email in (EMAIL, UNKNOWN))
    difference = abs(known - unknown)
    assert difference < 0.020, (known, unknown)
    assert difference < 0.5 * min(known, unknown), (known, unknown)
