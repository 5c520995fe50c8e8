"""A link check is a GET with side effects: another site's page must not be able to start one.

An ``<img src="http://127.0.0.1:8026/api/v1/message/latest/link-check">`` on any page makes the
browser send that GET, and the check then requests every loopback link in the mail, spending
single-use ones. Browsers say who sent a request in ``Sec-Fetch-Site``; each test sends the
value a browser would and then counts the hits on the local site the mail links to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiohttp import web

from sandbox.server import LoopThread
from sandbox.store import MessageStore
from sandbox.web import create_web_app


@dataclass
class MagicLinks:
    """A local app whose links work once; ``hits`` lists every path it was asked for."""

    port: int
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def magic_links() -> Iterator[MagicLinks]:
    """An http.server on 127.0.0.1 that answers 200 and records each request's path."""
    site = MagicLinks(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
            site.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def inbox(store: MessageStore) -> Iterator[httpx.Client]:
    """The web app over ``store`` on 127.0.0.1, and a client for it."""
    loop = LoopThread()
    runner = web.AppRunner(create_web_app(store), access_log=None)

    async def serve() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner.addresses[0][1]

    try:
        port = loop.run(serve())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
        loop.run(runner.cleanup())
    finally:
        loop.stop()


def add_sign_in_mail(store: MessageStore, port: int) -> str:
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = "Sign in"
    email.set_content(f"Sign in: http://127.0.0.1:{port}/magic/once-only-token\n")
    return store.add(email.as_bytes(), "app@example.com", ["ann@example.com"]).result(5)


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "Cross-Site"])
@pytest.mark.parametrize(
    "path", ["/api/v1/message/{id}/link-check", "/api/v1/message/latest/link-check"]
)
def test_a_check_another_site_asked_for_is_403_and_contacts_nothing(
    inbox: httpx.Client,
    store: MessageStore,
    magic_links: MagicLinks,
    fetch_site: str,
    path: str,
) -> None:
    message_id = add_sign_in_mail(store, magic_links.port)

    reply = inbox.get(
        path.format(id=message_id),
        params={"follow": "true"},
        headers={"Sec-Fetch-Site": fetch_site, "Sec-Fetch-Dest": "image"},
    )

    assert reply.status_code == 403
    assert "another site" in reply.json()["Error"]
    assert magic_links.hits == []


OWN_PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


@pytest.mark.parametrize(
    "headers",
    [OWN_PAGE, {"Sec-Fetch-Site": "none"}, {}],
    ids=["inbox-button", "typed-into-the-address-bar", "script-or-mailpit-client"],
)
def test_the_inbox_itself_and_scripts_still_check_links(
    inbox: httpx.Client,
    store: MessageStore,
    magic_links: MagicLinks,
    headers: dict[str, str],
) -> None:
    message_id = add_sign_in_mail(store, magic_links.port)

    reply = inbox.get(f"/api/v1/message/{message_id}/link-check", headers=headers)

    assert reply.status_code == 200
    assert reply.json()["Links"] == [
        {
            "URL": f"http://127.0.0.1:{magic_links.port}/magic/once-only-token",
            "StatusCode": 200,
            "Status": "OK",
        }
    ]
    assert magic_links.hits == ["/magic/once-only-token"]


def test_refusal_check_runs_before_anything_else(
    inbox: httpx.Client, magic_links: MagicLinks, store: MessageStore
) -> None:
    # Even an unknown message or a bad parameter answers the same refusal, so a page learns
    # nothing about the mailbox from it.
    for path in ("/api/v1/message/nope/link-check", "/api/v1/message/latest/link-check?follow=x"):
        reply = inbox.get(path, headers={"Sec-Fetch-Site": "cross-site"})
        assert reply.status_code == 403, path
