"""Every route under ``/m/NAME/`` sees and changes that mailbox's mail only.

Mail goes into ``a``, ``b`` and ``default``; everything done under ``/m/a/`` must leave the
others as they were, and an ID of another mailbox is a 404 there.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime

import httpx
import pytest
from manual_clock import ManualClock

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()


def send(api: httpx.Client, base: str, subject: str, **extra: object) -> str:
    """``POST {base}/api/v1/send``; returns the stored message's ID."""
    body = {"From": {"Email": "app@example.com"}, "To": [{"Email": "ann@example.com"}]}
    answer = api.post(f"{base}/api/v1/send", json={**body, "Subject": subject, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()["ID"]


def subjects(api: httpx.Client, base: str) -> list[str]:
    return [m["Subject"] for m in api.get(f"{base}/api/v1/messages").json()["messages"]]


@pytest.fixture
def api(web_server) -> Iterator[httpx.Client]:
    web_server.store.create_mailbox("a")
    web_server.store.create_mailbox("b")
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def mail(api: httpx.Client) -> dict[str, str]:
    """One message in each of ``a``, ``b`` and ``default``, by subject."""
    return {
        "a": send(api, "/m/a", "for a", Tags=["shared"]),
        "b": send(api, "/m/b", "for b", Tags=["shared"]),
        "default": send(api, "", "for default"),
    }


def test_send_list_and_search_stay_in_the_mailbox(api: httpx.Client, mail) -> None:
    assert subjects(api, "/m/a") == ["for a"]
    assert subjects(api, "/m/b") == ["for b"]
    assert subjects(api, "") == ["for default"]
    assert subjects(api, "/m/default") == ["for default"]
    found = api.get("/m/a/api/v1/search", params={"query": "subject:for"}).json()
    assert [m["ID"] for m in found["messages"]] == [mail["a"]]
    assert api.get("/m/a/api/v1/messages").json()["total"] == 1


def test_another_mailbox_ids_are_404(api: httpx.Client, mail) -> None:
    other = mail["b"]
    for path in ("", "/raw", "/headers", "/part/1", "/link-check"):
        answer = api.get(f"/m/a/api/v1/message/{other}{path}")
        assert answer.status_code == 404, path
        assert "Error" in answer.json()
    for view in (f"/m/a/view/{other}.txt", f"/m/a/message/{other}"):
        assert api.get(view).status_code == 404
    assert api.get(f"/m/b/api/v1/message/{other}").json()["Subject"] == "for b"
    assert api.get("/m/a/api/v1/message/latest").json()["ID"] == mail["a"]


def test_reading_and_flagging_touch_only_the_mailbox(api: httpx.Client, mail) -> None:
    api.get(f"/m/a/api/v1/message/{mail['a']}")  # opening marks it read
    assert api.put("/m/a/api/v1/messages", json={"IDs": [mail["b"]], "Read": True}).text == "ok"
    assert api.put("/m/a/api/v1/messages", json={"Read": True}).status_code == 200

    assert api.get("/m/a/api/v1/messages").json()["unread"] == 0
    assert api.get("/m/b/api/v1/messages").json()["unread"] == 1
    assert api.get("/api/v1/messages").json()["unread"] == 1


def test_tags_stay_in_the_mailbox(api: httpx.Client, mail) -> None:
    refused = api.put("/m/a/api/v1/tags", json={"IDs": [mail["b"]], "Tags": ["stolen"]})
    assert refused.status_code == 404
    assert api.put("/m/a/api/v1/tags/shared", json={"Name": "renamed"}).text == "ok"

    assert api.get("/m/a/api/v1/tags").json() == ["renamed"]
    assert api.get("/m/b/api/v1/tags").json() == ["shared"]
    assert api.get(f"/m/b/api/v1/message/{mail['b']}").json()["Tags"] == ["shared"]
    assert api.delete("/m/a/api/v1/tags/shared").status_code == 404
    assert api.get("/api/v1/tags").json() == []


def test_deletes_stay_in_the_mailbox(api: httpx.Client, mail) -> None:
    send(api, "/m/a", "second for a")
    assert api.request("DELETE", "/m/a/api/v1/messages", json={"IDs": [mail["b"]]}).text == "ok"
    assert api.delete("/m/a/api/v1/search", params={"query": "subject:second"}).text == "ok"
    assert subjects(api, "/m/a") == ["for a"]
    assert api.delete("/m/a/api/v1/search", params={"query": "subject:for"}).text == "ok"
    assert subjects(api, "/m/a") == []
    send(api, "/m/a", "third for a")

    assert api.delete("/m/a/api/v1/messages").text == "ok"

    assert subjects(api, "/m/a") == []
    assert subjects(api, "/m/b") == ["for b"]
    assert subjects(api, "") == ["for default"]


def test_info_counts_the_mailbox(api: httpx.Client, mail) -> None:
    send(api, "/m/a", "another")

    info = api.get("/m/a/api/v1/info").json()

    assert (info["Messages"], info["Unread"]) == (2, 2)
    assert info["Tags"] == {"shared": 1}
    assert api.get("/api/v1/info").json()["Messages"] == 1


def test_links_in_a_message_view_stay_in_the_mailbox(api: httpx.Client) -> None:
    message_id = send(
        api,
        "/m/a",
        "picture",
        HTML='<p><img src="cid:logo"></p>',
        Attachments=[
            {
                "Content": PNG,
                "Filename": "logo.png",
                "ContentType": "image/png",
                "ContentID": "logo",
            }
        ],
    )

    html = api.get(f"/m/a/view/{message_id}.html").text

    link = f"/m/a/api/v1/message/{message_id}/part/"
    assert link in html
    start = html.index(link)
    part = api.get(html[start : html.index('"', start)])
    assert part.status_code == 200
    assert part.content.startswith(b"\x89PNG")


def test_unknown_mailboxes_are_404_everywhere(api: httpx.Client) -> None:
    for path in ("/m/nope/api/v1/messages", "/m/nope/api/v1/info", "/m/nope/api/events"):
        answer = api.get(path)
        assert (answer.status_code, answer.json()) == (404, {"Error": "no mailbox named nope"})
    assert api.post("/m/nope/api/v1/send", json={"From": {"Email": "a@x"}}).status_code == 404
    page = api.get("/m/nope/")
    assert page.status_code == 404
    assert "no mailbox named nope" in page.text
    assert api.get("/m/nope", follow_redirects=False).status_code == 404


def test_the_mailbox_inbox_is_at_its_prefix(api: httpx.Client) -> None:
    moved = api.get("/m/a", follow_redirects=False)

    assert moved.status_code == 308
    assert moved.headers["Location"] == "/m/a/"
    assert api.get("/m/a/").status_code == 200


def test_the_description_under_a_mailbox_points_at_it(api: httpx.Client) -> None:
    scoped = api.get("/m/a/api/v1/swagger.json").json()

    assert scoped["servers"] == [{"url": "/m/a"}]
    assert "/api/v1/messages" in scoped["paths"]
    assert "/api/v1/mailboxes" not in scoped["paths"]
    assert "servers" not in api.get("/api/v1/swagger.json").json()


def test_chaos_is_the_servers_under_every_mailbox(api: httpx.Client) -> None:
    assert api.get("/m/a/api/v1/chaos").json() == api.get("/api/v1/chaos").json()


def wait_in_thread(api: httpx.Client, path: str, **params: str) -> Future[httpx.Response]:
    answer: Future[httpx.Response] = Future()

    def run() -> None:
        try:
            answer.set_result(api.get(path, params=params, timeout=30))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            answer.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return answer


def test_wait_answers_with_mail_of_its_mailbox_only(api: httpx.Client) -> None:
    waiting = wait_in_thread(api, "/m/a/api/v1/wait", since="", timeout="20")
    send(api, "/m/b", "for b")
    send(api, "", "for default")
    expected = send(api, "/m/a", "for a")

    answer = waiting.result(30)

    assert answer.status_code == 200
    assert answer.json()["ID"] == expected


def test_wait_does_not_hear_other_mailboxes(api: httpx.Client) -> None:
    send(api, "/m/b", "for b")

    answer = api.get("/m/a/api/v1/wait", params={"since": "", "timeout": "0.3"})

    assert answer.status_code == 408
    assert api.get("/api/v1/wait", params={"since": "", "timeout": "0.3"}).status_code == 408


def first_event(api: httpx.Client, path: str, deliver) -> dict:
    """The first ``new`` event of the stream at ``path``, once ``deliver()`` has sent mail."""
    with api.stream("GET", path, timeout=30) as stream:
        assert stream.status_code == 200
        # The subscription is in place once the response has started.
        deliver()
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event == "new":
                return json.loads(line.partition(":")[2])
    raise AssertionError("the stream ended without an event")


def test_the_event_stream_of_a_mailbox_tells_of_its_mail_only(api: httpx.Client) -> None:
    sent: dict[str, str] = {}

    def deliver() -> None:
        sent["b"] = send(api, "/m/b", "for b")
        sent["default"] = send(api, "", "for default")
        sent["a"] = send(api, "/m/a", "for a")

    assert first_event(api, "/m/a/api/events", deliver) == {"IDs": [sent["a"]]}


def test_the_unscoped_event_stream_tells_of_default_mail_only(api: httpx.Client) -> None:
    sent: dict[str, str] = {}

    def deliver() -> None:
        sent["a"] = send(api, "/m/a", "for a")
        sent["default"] = send(api, "", "for default")

    assert first_event(api, "/api/events", deliver) == {"IDs": [sent["default"]]}


def test_using_a_mailbox_puts_its_expiry_off(api: httpx.Client, store, clock: ManualClock) -> None:
    store.create_mailbox("brief", ttl=60)
    store.create_mailbox("idle", ttl=60)
    clock.advance(50)

    assert api.get("/m/brief/api/v1/messages").status_code == 200
    clock.advance(50)

    assert store.expire_mailboxes() == ["idle"]
    expires = api.get("/api/v1/mailboxes/brief").json()["Expires"]
    assert datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() == pytest.approx(
        clock.now - 50 + 60
    )
    assert api.get("/m/brief/api/v1/messages").status_code == 200
    assert api.get("/m/idle/api/v1/messages").status_code == 404
