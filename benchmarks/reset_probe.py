"""How long the app's "Request Password Reset" takes to answer, as a browser would submit it."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import aiohttp

from benchmarks.probes import ProbeError

RESET_PATH = "/reset_password_request"


class _CSRFField(HTMLParser):
    """Finds the value of the form's hidden ``csrf_token`` input."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("name") == "csrf_token":
            self.token = fields.get("value")


def csrf_token(page: str) -> str:
    """The CSRF token in a form page; ``ProbeError`` when the page has none."""
    parser = _CSRFField()
    parser.feed(page)
    if not parser.token:
        raise ProbeError("the reset request page has no csrf_token field")
    return parser.token


async def reset_request_latency(
    app_url: str, email: str, *, count: int, time_limit: float
) -> list[float]:
    """Seconds each of ``count`` reset requests for ``email`` took to be answered.

    The form page is fetched first for its CSRF token and session cookie, as a browser does;
    each POST must get the redirect to the login page that the app gives on success.
    """
    latencies: list[float] = []
    deadline = time.perf_counter() + time_limit
    # unsafe=True: aiohttp otherwise keeps no cookies from an IP address such as 127.0.0.1,
    # and without its session cookie the CSRF token is refused.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(app_url + RESET_PATH) as response:
            if response.status != 200:
                raise ProbeError(f"GET {RESET_PATH}: status {response.status}")
            token = csrf_token(await response.text())
        form = {"csrf_token": token, "email": email, "submit": "Request Password Reset"}
        for _ in range(count):
            started = time.perf_counter()
            if started > deadline:
                break
            async with session.post(
                app_url + RESET_PATH, data=form, allow_redirects=False
            ) as response:
                await response.read()
                location = response.headers.get("Location", "")
            latencies.append(time.perf_counter() - started)
            if response.status != 302 or not location.endswith("/login"):
                raise ProbeError(f"POST {RESET_PATH}: status {response.status} to {location!r}")
    return latencies
