"""A link check is a GET with side effects: another site's page must not be able to start one.

An ``<img src="http://127.0.0.1:8026/api/v1/message/latest/link-check">`` on any page makes the
browser send that GET, and the check then requests every loopback link in the mail, spending
single-use ones. Browsers say who sent a request in ``Sec-Fetch-Site``; each test sends the
value a browser would and then counts the hits on the local site the mail links to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage

import httpx
import pytest
from link_target import Site

from mail_sandbox.store import MessageStore


@pytest.fixture
def inbox(serve_web_app: Callable[..., int]) -> Iterator[httpx.Client]:
    """The web app on 127.0.0.1, and a client for it."""
    with httpx.Client(base_url=f"http://127.0.0.1:{serve_web_app()}", timeout=30) as client:
        yield client


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
    site: Site,
    fetch_site: str,
    path: str,
) -> None:
    message_id = add_sign_in_mail(store, site.port)

    reply = inbox.get(
        path.format(id=message_id),
        params={"follow": "true"},
        headers={"Sec-Fetch-Site": fetch_site, "Sec-Fetch-Dest": "image"},
    )

    assert reply.status_code == 403
    assert "another site" in reply.json()["Error"]
    assert site.hits == []


OWN_PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


@pytest.mark.parametrize(
    "headers",
    [OWN_PAGE, {"Sec-Fetch-Site": "none"}, {}],
    ids=["inbox-button", "typed-into-the-address-bar", "script-or-mailpit-client"],
)
def test_the_inbox_itself_and_scripts_still_check_links(
    inbox: httpx.Client,
    store: MessageStore,
    site: Site,
    headers: dict[str, str],
) -> None:
    message_id = add_sign_in_mail(store, site.port)

    reply = inbox.get(f"/api/v1/message/{message_id}/link-check", headers=headers)

    assert reply.status_code == 200
    assert reply.json()["Links"] == [
        {
            "URL": f"http://127.0.0.1:{site.port}/magic/once-only-token",
            "StatusCode": 200,
            "Status": "OK",
        }
    ]
    assert [path for _, path in site.hits] == ["/magic/once-only-token"]


def test_refusal_check_runs_before_anything_else(
    inbox: httpx.Client, site: Site, store: MessageStore
) -> None:
    # Even an unknown message or a bad parameter answers the same refusal, so a page learns
    # nothing about the mailbox from it.
    for path in ("/api/v1/message/nope/link-check", "/api/v1/message/latest/link-check?follow=x"):
        reply = inbox.get(path, headers={"Sec-Fetch-Site": "cross-site"})
        assert reply.status_code == 403, path
