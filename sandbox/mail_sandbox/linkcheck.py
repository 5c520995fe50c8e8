"""Check the links of a captured message, contacting only hosts the developer allowed.

The answer has Mailpit's link-check shape: ``{"Errors": n, "Links": [{"URL", "StatusCode",
"Status"}]}``. A link check is a request made on behalf of whoever sent the email, so it must
never become a way to reach arbitrary hosts: only loopback addresses, ``localhost`` (and names
under it) and hosts the developer listed are contacted. That decision is made from the URL's host
as written, before any DNS lookup, because a resolved name can change between the check and the
connection; loopback names are then connected to without any lookup at all. Redirects
are followed by hand, one hop at a time, so every hop is checked the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from http import HTTPStatus

import aiohttp
from yarl import URL

from mail_sandbox import defaults
from mail_sandbox.hostnames import LoopbackResolver, is_loopback_host, normalize_host
from mail_sandbox.links import find_links, image_sources

MAX_REDIRECTS = 3
# Links checked at once; enough to keep a check quick, few enough to be polite to a dev server.
CONCURRENCY = 4
USER_AGENT = "mail-sandbox link check"

SKIPPED_HOST = "skipped: host not allowed"
SKIPPED_SCHEME = "skipped: not an http(s) link"
INVALID_URL = "invalid URL"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def extract_links(text: str, html: str, follow_images: bool) -> list[str]:
    """The http(s) links of a message: text links and ``<a href>``, then ``<img src>`` if asked.

    Each link once, in order of first appearance.
    """
    try:
        links = find_links(text, html)
    except AssertionError:
        # Older html.parser versions assert on some malformed declarations; the text part's
        # links are still worth checking.
        links = find_links(text, "")
    if follow_images:
        with contextlib.suppress(AssertionError):
            links.extend(image_sources(html))
    return list(dict.fromkeys(links))


def is_allowed_host(host: str | None, allowed_hosts: Iterable[str]) -> bool:
    """Whether a URL host may be contacted: a loopback name or IP, or an allowed host.

    Decided from the text alone; no name is ever resolved to find out.
    """
    if not host:
        return False
    if is_loopback_host(host):
        return True
    return normalize_host(host) in {normalize_host(h) for h in allowed_hosts}


async def check_links(
    links: list[str],
    *,
    allowed_hosts: set[str],
    timeout: float,
    max_links: int = defaults.MAX_CHECKED_LINKS,
    session: aiohttp.ClientSession | None = None,
    follow_redirects: bool = True,
    max_redirects: int = MAX_REDIRECTS,
) -> dict:
    """Check ``links`` and answer in Mailpit's shape ``{"Errors", "Links"}``.

    * A link whose host is not allowed is listed with StatusCode 0 and Status
      ``"skipped: host not allowed"`` and is never contacted (nor its name looked up).
    * At most ``max_links`` links are contacted; later allowed links are still listed, with
      StatusCode 0 and a Status saying the limit was reached, so the answer shows every link.
    * Each link gets ``timeout`` seconds in all, redirects included. HEAD first; if the server
      answers HEAD with an error, GET (without reading the body), since some servers refuse
      HEAD for pages that work.
    * With ``follow_redirects``, up to ``max_redirects`` hops are followed, each one checked
      like a new link; a redirect off the allowed hosts is reported with its 3xx status and
      not followed. Without it, the 3xx status itself is the answer (Mailpit's default).
    * ``Errors`` counts links that answered 400 or more or could not be reached; skipped
      links are not errors.

    A ``session`` passed in is used as it is (it must not use a proxy, and should resolve
    through ``LoopbackResolver``); otherwise one is made and closed here.
    """
    own_session = session is None
    if session is None:
        session = aiohttp.ClientSession(
            # Loopback names never reach a resolver (the system's would ask DNS about some);
            # other allowed hosts go to getaddrinfo even where aiodns is installed, so their
            # lookups behave as the app's own do and stay observable.
            connector=aiohttp.TCPConnector(resolver=LoopbackResolver(aiohttp.ThreadedResolver())),
            trust_env=False,  # never an environment proxy: it would be a non-loopback host
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
    try:
        results = await _check_all(
            list(dict.fromkeys(links)),
            session,
            allowed_hosts,
            timeout,
            max_links,
            follow_redirects,
            max_redirects,
        )
    finally:
        if own_session:
            await session.close()
    return {
        "Errors": sum(1 for _, code, _, failed in results if failed),
        "Links": [
            {"URL": url, "StatusCode": code, "Status": status} for url, code, status, _ in results
        ],
    }


async def _check_all(
    links: list[str],
    session: aiohttp.ClientSession,
    allowed_hosts: set[str],
    timeout: float,
    max_links: int,
    follow_redirects: bool,
    max_redirects: int,
) -> list[tuple[str, int, str, bool]]:
    """``(URL, StatusCode, Status, is an error)`` for each link, in order."""
    limit_reached = f"skipped: only the first {max_links} links are checked"
    gate = asyncio.Semaphore(CONCURRENCY)
    pending: dict[int, asyncio.Task[tuple[int, str]]] = {}
    results: list[tuple[str, int, str, bool]] = []
    contacted = 0
    async with asyncio.TaskGroup() as tasks:
        for link in links:
            url, verdict = _screen(link, allowed_hosts)
            if url is None:
                results.append((link, 0, verdict, verdict == INVALID_URL))
            elif contacted >= max_links:
                results.append((link, 0, limit_reached, False))
            else:
                contacted += 1
                pending[len(results)] = tasks.create_task(
                    _check_one(
                        session, url, allowed_hosts, timeout, follow_redirects, max_redirects, gate
                    )
                )
                results.append((link, 0, "", False))
    for index, task in pending.items():
        code, status = task.result()
        results[index] = (results[index][0], code, status, code == 0 or code >= 400)
    return results


def _screen(link: str, allowed_hosts: set[str]) -> tuple[URL | None, str]:
    """The URL to contact, or None and the Status that says why not."""
    try:
        url = URL(link.strip())
        url.port  # noqa: B018 - an out-of-range port only shows here
    except (ValueError, TypeError):
        return None, INVALID_URL
    if url.scheme not in ("http", "https"):
        return None, SKIPPED_SCHEME
    if not url.raw_host:
        return None, INVALID_URL
    if not is_allowed_host(url.raw_host, allowed_hosts):
        return None, SKIPPED_HOST
    return url, ""


async def _check_one(
    session: aiohttp.ClientSession,
    url: URL,
    allowed_hosts: set[str],
    timeout: float,
    follow_redirects: bool,
    max_redirects: int,
    gate: asyncio.Semaphore,
) -> tuple[int, str]:
    """``(StatusCode, Status)`` for one allowed link, redirects and all, within ``timeout``."""
    async with gate:
        try:
            async with asyncio.timeout(timeout):
                return await _follow(session, url, allowed_hosts, follow_redirects, max_redirects)
        except TimeoutError:
            return 0, f"timed out after {timeout:g} s"
        except aiohttp.ClientError as exc:
            return 0, _describe(exc)
        except (OSError, ValueError) as exc:
            # Raised unwrapped by a few socket and URL paths; still one link's failure.
            return 0, str(exc) or type(exc).__name__


async def _follow(
    session: aiohttp.ClientSession,
    url: URL,
    allowed_hosts: set[str],
    follow_redirects: bool,
    max_redirects: int,
) -> tuple[int, str]:
    current = url
    for hop in range(max_redirects + 1):
        code, reason, location = await _probe(session, current)
        if not (follow_redirects and code in _REDIRECTS and location):
            return code, _phrase(code, reason)
        if hop == max_redirects:
            return code, f"too many redirects (more than {max_redirects})"
        try:
            target = current.join(URL(location))
            target.port  # noqa: B018 - an out-of-range port only shows here
        except (ValueError, TypeError):
            return code, "redirect to an invalid URL not followed"
        if target.scheme not in ("http", "https"):
            return code, "redirect to a non-http(s) URL not followed"
        if not is_allowed_host(target.raw_host, allowed_hosts):
            return code, f"redirect not followed: host not allowed ({target.host})"
        current = target
    raise AssertionError("unreachable: the loop returns on its last hop")


async def _probe(session: aiohttp.ClientSession, url: URL) -> tuple[int, str, str]:
    """``(status, reason, Location)`` from HEAD, or from GET when HEAD is answered with an error."""
    answer = await _request(session, "HEAD", url)
    if answer[0] >= 400:
        answer = await _request(session, "GET", url)
    return answer


async def _request(session: aiohttp.ClientSession, method: str, url: URL) -> tuple[int, str, str]:
    async with session.request(method, url, allow_redirects=False) as response:
        # The body is never read: the status is the answer, and a large page costs nothing.
        return response.status, response.reason or "", response.headers.get("Location", "")


def _phrase(code: int, reason: str) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return reason


def _describe(exc: aiohttp.ClientError) -> str:
    """A short reason, as Mailpit shows (``connection refused``), not a stack of wrappers."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate not trusted"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS error"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.InvalidURL):
        return INVALID_URL
    return str(exc) or type(exc).__name__
