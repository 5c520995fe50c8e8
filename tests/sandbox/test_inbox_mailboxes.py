"""The inbox pages under ``/m/NAME/``: they show that mailbox's mail only, every URL they
render stays in it, and the header's switcher lists the mailboxes the viewer may open.

Mail goes into ``a``, ``b``, ``default`` and ``secret`` (a mailbox with a password); the pages
are read as HTML and parsed, as a browser would see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore
from mail_sandbox.web import Credentials

SECRET = "s3cret"
ADMIN = Credentials("admin", "admin-secret")
ADMIN_AUTH = (ADMIN.username, ADMIN.password)
# Attributes that hold a URL the page fetches, opens or submits to.
URL_ATTRIBUTES = ("href", "src", "action", "data-fragment", "data-events", "data-url")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            element
            for element in self.walk()
            if (tag is None or element.tag == tag)
            and all(element.attrs.get(name.replace("_", "-")) == v for name, v in attrs.items())
        ]

    def all_text(self) -> str:
        return " ".join([self.text, *(child.all_text() for child in self.children)]).strip()


class TreeBuilder(HTMLParser):
    """The page as a tree of elements (enough of HTML for the server's own templates)."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Element("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].text += data


def parse(html: str) -> Element:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass
class Entry:
    name: str
    url: str
    counts: str
    current: bool


def switcher_of(page: Element) -> tuple[str, list[Entry]]:
    """The switcher's current name and its entries, as the page shows them."""
    (nav,) = page.find_all("nav", id="mailbox-switcher")
    assert nav.attrs["aria-label"] == "Mailboxes"
    (current,) = nav.find_all("span", **{"class": "switcher-current"})
    entries = []
    for item in nav.find_all("li"):
        (link,) = item.find_all("a")
        (counts,) = item.find_all("span", **{"class": "switcher-counts"})
        entries.append(
            Entry(
                link.all_text(), link.attrs["href"], counts.all_text(), "aria-current" in link.attrs
            )
        )
    return current.all_text(), entries


def own_urls(page: Element, page_url: str) -> list[tuple[str, str, str]]:
    """``(tag, attribute, path)`` of every URL of this server on the page, outside the switcher
    (whose links lead to the other mailboxes on purpose) and the static files."""
    in_switcher = {id(e) for nav in page.find_all("nav", id="mailbox-switcher") for e in nav.walk()}
    found = []
    for element in page.walk():
        if id(element) in in_switcher:
            continue
        for attribute in URL_ATTRIBUTES:
            value = element.attrs.get(attribute)
            if value is None or value.startswith("data:"):
                continue
            url = urlsplit(urljoin(page_url, value))
            if url.netloc == urlsplit(page_url).netloc and not url.path.startswith("/static/"):
                found.append((element.tag, attribute, url.path))
    return found


def message(subject: str, *, tags: str = "", html: bool = False) -> bytes:
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = subject
    if tags:
        email["X-Tags"] = tags
    email.set_content(f"Text of {subject}")
    if html:
        email.add_alternative('<p>Logo: <img src="cid:logo"></p>', subtype="html")
        email.get_payload()[1].add_related(
            b"\x89PNG\r\n\x1a\n" + bytes(32), "image", "png", cid="<logo>", filename="logo.png"
        )
        email.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="a.pdf")
    return email.as_bytes()


def add(store: MessageStore, subject: str, *, tags: str = "", html: bool = False) -> str:
    raw = message(subject, tags=tags, html=html)
    return store.add(raw, "app@example.com", ["ann@example.com"]).result(10)


def fill(store: MessageStore) -> dict[str, str]:
    """Mailboxes ``a``, ``b`` and ``secret``; one message in each and in ``default``."""
    store.create_mailbox("a")
    store.create_mailbox("b")
    store.create_mailbox("secret", password=SECRET)
    return {
        "a": add(store.mailbox("a"), "for a", tags="shared", html=True),
        "b": add(store.mailbox("b"), "for b", tags="shared"),
        "default": add(store, "for default", tags="shared"),
        "secret": add(store.mailbox("secret"), "for secret"),
    }


def row_ids(page: Element) -> list[str]:
    return [row.attrs["data-id"] for row in page.find_all("tr") if "data-id" in row.attrs]


@pytest.fixture
def mail(web_server) -> dict[str, str]:
    return fill(web_server.store)


@pytest.fixture
def client(web_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        yield client


def get_page(client: httpx.Client, path: str, auth: tuple[str, str] | None = None) -> Element:
    answer = client.get(path, auth=auth)
    assert answer.status_code == 200, (path, answer.text)
    return parse(answer.text)


def test_a_mailbox_inbox_lists_only_its_mail(client: httpx.Client, mail) -> None:
    for path in ("/m/a/", "/m/a/fragments/inbox", "/m/a/?q=tag:shared", "/m/a/?q=subject:for"):
        assert row_ids(get_page(client, path)) == [mail["a"]], path
    assert row_ids(get_page(client, "/m/b/")) == [mail["b"]]
    assert row_ids(get_page(client, "/")) == [mail["default"]]
    page = client.get("/m/a/").text
    assert "for a" in page
    assert "for b" not in page and "for default" not in page


def test_another_mailbox_message_is_404_under_a(client: httpx.Client, web_server, mail) -> None:
    for other in (mail["b"], mail["default"]):
        assert client.get(f"/m/a/message/{other}").status_code == 404
        assert client.get(f"/m/a/message/{other}/html").status_code == 404
        assert client.post(f"/m/a/message/{other}/delete").status_code in (303, 404)
    assert web_server.store.mailbox("b").counts() == (1, 1)  # neither read nor deleted
    assert web_server.store.counts() == (1, 1)
    latest = client.get("/m/a/message/latest", follow_redirects=False)
    assert latest.headers["Location"] == f"/m/a/message/{mail['a']}"


def test_every_url_on_a_mailbox_page_stays_in_it(client: httpx.Client, web_server, mail) -> None:
    box = web_server.store.mailbox("a")
    for number in range(50):  # a second page, for the pager's links
        add(box, f"filler {number}")
    pages = ["/m/a/", "/m/a/?page=2", "/m/a/?q=tag:shared", f"/m/a/message/{mail['a']}"]
    seen: set[tuple[str, str]] = set()
    for path in pages:
        page_url = str(client.base_url.join(path))
        for tag, attribute, url_path in own_urls(get_page(client, path), page_url):
            assert url_path.startswith("/m/a/"), (path, tag, attribute, url_path)
            seen.add((tag, attribute))
            if tag in ("a", "iframe") and "/delete" not in url_path:
                assert client.get(url_path).status_code == 200, (path, url_path)
    # Every kind of URL the pages hold was checked: links, forms, the frame, the script's.
    for kind in [
        ("a", "href"),
        ("form", "action"),
        ("iframe", "src"),
        ("section", "data-fragment"),
        ("section", "data-events"),
        ("button", "data-url"),
    ]:
        assert kind in seen, kind
    frame = client.get(f"/m/a/message/{mail['a']}/html").text
    images = [img.attrs["src"] for img in parse(frame).find_all("img")]
    assert images and all(
        src.startswith(f"/m/a/api/v1/message/{mail['a']}/part/") for src in images
    )
    assert client.get(images[0]).content.startswith(b"\x89PNG")


def test_the_default_inbox_links_stay_unscoped(client: httpx.Client, web_server) -> None:
    message_id = add(web_server.store, "plain", tags="t", html=True)
    for path in ("/", f"/message/{message_id}"):
        urls = own_urls(get_page(client, path), str(client.base_url.join(path)))
        assert urls
        assert not [url for url in urls if url[2].startswith("/m/")], path
    current, entries = switcher_of(get_page(client, "/"))
    assert current == "default"
    assert entries == [Entry("default", "/", "1 message, 0 unread", True)]  # opened above


def test_delete_all_under_a_empties_only_a(client: httpx.Client, web_server, mail) -> None:
    answer = client.post("/m/a/delete-all", follow_redirects=False)

    assert (answer.status_code, answer.headers["Location"]) == (303, "/m/a/")
    assert web_server.store.mailbox("a").counts() == (0, 0)
    assert web_server.store.mailbox("b").counts() == (1, 1)
    assert web_server.store.mailbox("secret").counts() == (1, 1)
    assert web_server.store.counts() == (1, 1)


def test_deleting_a_message_under_a_returns_to_a(client: httpx.Client, web_server, mail) -> None:
    answer = client.post(f"/m/a/message/{mail['a']}/delete", follow_redirects=False)

    assert (answer.status_code, answer.headers["Location"]) == (303, "/m/a/")
    assert web_server.store.mailbox("a").counts() == (0, 0)


def test_the_switcher_lists_the_open_mailboxes_with_counts(client: httpx.Client, mail) -> None:
    client.get(f"/m/b/message/{mail['b']}")  # read: b has 1 message, 0 unread
    expected = [
        Entry("default", "/", "1 message, 1 unread", False),
        Entry("a", "/m/a/", "1 message, 1 unread", False),
        Entry("b", "/m/b/", "1 message, 0 unread", False),
    ]
    for path, current in [
        ("/", "default"),
        ("/m/a/", "a"),
        ("/m/b/fragments/inbox", "b"),
        ("/m/default/", "default"),
        (f"/m/a/message/{mail['a']}", "a"),
    ]:
        shown, entries = switcher_of(get_page(client, path))
        assert shown == current, path
        marked = [Entry(e.name, e.url, e.counts, e.name == current) for e in expected]
        if path.startswith("/m/a/message/"):  # opening it marked it read
            marked[1] = Entry("a", "/m/a/", "1 message, 0 unread", True)
        assert entries == marked, path


def test_the_switcher_counts_come_fresh_with_the_live_fragment(
    client: httpx.Client, web_server, mail
) -> None:
    add(web_server.store.mailbox("a"), "another for a")
    add(web_server.store.mailbox("b"), "another for b")

    _, entries = switcher_of(get_page(client, "/m/a/fragments/inbox"))

    counts = {entry.name: entry.counts for entry in entries}
    assert counts == {
        "default": "1 message, 1 unread",
        "a": "2 messages, 2 unread",
        "b": "2 messages, 2 unread",
    }


def test_a_password_mailbox_shows_itself_only_to_its_own_password(
    client: httpx.Client, mail
) -> None:
    assert client.get("/m/secret/").status_code == 401

    shown, entries = switcher_of(get_page(client, "/m/secret/", auth=("secret", SECRET)))

    assert shown == "secret"
    assert entries == [Entry("secret", "/m/secret/", "1 message, 1 unread", True)]


@pytest.fixture
def locked(start_capture_server: Callable[..., CaptureServer], store) -> Iterator[httpx.Client]:
    """A server with ``--ui-auth`` over the same mailboxes."""
    fill(store)
    server = start_capture_server(credentials=ADMIN)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_under_ui_auth_the_admin_sees_every_mailbox(locked: httpx.Client) -> None:
    for path, current in [("/", "default"), ("/m/secret/", "secret"), ("/m/a/", "a")]:
        shown, entries = switcher_of(get_page(locked, path, auth=ADMIN_AUTH))
        assert shown == current
        assert [(e.name, e.url, e.current) for e in entries] == [
            ("default", "/", current == "default"),
            ("a", "/m/a/", current == "a"),
            ("b", "/m/b/", False),
            ("secret", "/m/secret/", current == "secret"),
        ]


def test_under_ui_auth_a_mailbox_password_lists_no_other_mailbox(locked: httpx.Client) -> None:
    _, entries = switcher_of(get_page(locked, "/m/secret/", auth=("secret", SECRET)))

    assert [e.name for e in entries] == ["secret"]
