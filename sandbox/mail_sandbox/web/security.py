"""Browser-facing protections: security headers on every response and the cross-site guard.

Captured mail is hostile input rendered in the inbox's origin, and the API changes state, so
the inbox forbids inline script and framing, and refuses state-changing requests (and GETs
with side effects) that another site's page could have sent.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from yarl import URL

from mail_sandbox.web.hosts import HostRule, local_address

# Pages of the inbox itself: script only from our own static files, no inline anything.
INBOX_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

# An email's HTML, shown in the inbox's sandboxed iframe: no script at all, styles inline only,
# images from anywhere (as a mail client shows them), and a sandbox even when opened directly.
EMAIL_CSP = "; ".join(
    [
        "default-src 'none'",
        "img-src 'self' data: cid: http: https:",
        "style-src 'unsafe-inline'",
        "font-src data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)

# A downloaded part must never render as a page of ours.
DOWNLOAD_CSP = "default-src 'none'; sandbox"

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook; a handler that set its own CSP or framing rule keeps it."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", INBOX_CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"


def cross_site_guard(rule: HostRule) -> Middleware:
    """403 for a state-changing request from another origin; scripts sending no Origin pass.

    An Origin must be this request's own and a host ``rule`` serves, so a rebound name cannot
    write even through an app that forgot the Host rule in front of this guard.
    """

    @web.middleware
    async def refuse_cross_site(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in STATE_CHANGING_METHODS and is_cross_site(request, rule):
            raise web.HTTPForbidden(reason="Cross-site request refused")
        return await handler(request)

    return refuse_cross_site


def is_cross_site(request: web.Request, rule: HostRule) -> bool:
    """Whether the browser says another site (or an opaque origin) sent this request."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    origin = origin.strip()
    if origin == "null" and fetch_site == "same-origin":
        # Under "Referrer-Policy: no-referrer" browsers send "Origin: null" even for our own
        # forms; Sec-Fetch-Site, which no page can forge, vouches for them. An opaque origin
        # (a sandboxed frame) is reported as cross-site instead.
        return False
    return not _same_origin(origin, request, rule)


def requested_by_another_site(request: web.Request) -> bool:
    """Whether a browser says a page of another origin, even a same-site one, sent this request.

    For GETs with side effects, which an ``<img>`` anywhere can send: only the inbox's own pages
    (``same-origin``) and the user typing the URL (``none``) pass, and so do scripts and older
    browsers, which send no ``Sec-Fetch-Site`` at all.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    return fetch_site is not None and fetch_site.strip().lower() not in {"same-origin", "none"}


def _same_origin(origin: str, request: web.Request, rule: HostRule) -> bool:
    try:
        theirs = URL(origin)
        # The raw header, never request.host: without one aiohttp looks up the machine's name.
        ours = URL.build(scheme=request.scheme, authority=request.headers.get(hdrs.HOST, ""))
    except (ValueError, TypeError):
        return False
    # "null" (a sandboxed frame, a file: page) is not absolute and so never ours.
    if not theirs.absolute or theirs.scheme not in ("http", "https") or not ours.host:
        return False
    if not rule.allows(theirs.raw_host, local_address(request)):
        return False
    return (theirs.scheme, theirs.host, theirs.port) == (ours.scheme, ours.host, ours.port)
