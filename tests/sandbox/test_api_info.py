"""``GET /api/v1/info`` and ``GET /api/v1/webui``, field by field against Mailpit's shapes.

The runtime counters are checked against what the test itself did over SMTP and the API.
"""

from __future__ import annotations

import os
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

import mail_sandbox
from mail_sandbox.server import CaptureServer

INFO_KEYS = {
    "Version",
    "LatestVersion",
    "Database",
    "DatabaseSize",
    "Messages",
    "Unread",
    "Tags",
    "RuntimeStats",
}
RUNTIME_KEYS = {
    "Uptime",
    "Memory",
    "MessagesDeleted",
    "SMTPAccepted",
    "SMTPAcceptedSize",
    "SMTPRejected",
    "SMTPIgnored",
}


def peak_resident_memory() -> int:
    """This process's highest resident size so far, in bytes (Linux's VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def message(subject: str, tags: str | None = None) -> EmailMessage:
    """A small message, tagged through the X-Tags header when ``tags`` is given."""
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = subject
    if tags is not None:
        email["X-Tags"] = tags
    email.set_content(f"{subject}\n")
    return email


def send(server: CaptureServer, *emails: EmailMessage) -> None:
    """Send each message over SMTP, as an app would."""
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        for email in emails:
            client.send_message(email)


def test_info_shape_field_by_field(capture_server: CaptureServer) -> None:
    started = time.monotonic()
    send(
        capture_server,
        message("Welcome", tags="Onboarding, urgent"),
        message("Invoice", tags="urgent"),
        message("Newsletter"),
    )
    store = capture_server.store
    ids = {summary.subject: summary.id for summary in store.list().messages}
    received = sum(len(store.raw(message_id)) for message_id in ids.values())
    api = httpx.Client(base_url=capture_server.url, timeout=10)
    assert api.get(f"/api/v1/message/{ids['Invoice']}").status_code == 200  # marks it read
    assert api.request("DELETE", "/api/v1/messages", json={"IDs": [ids["Newsletter"]]}).text == "ok"

    reply = api.get("/api/v1/info")

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    info = reply.json()
    assert set(info) == INFO_KEYS
    assert info["Version"] == mail_sandbox.__version__
    assert info["LatestVersion"] == "disabled"
    assert info["Database"] == store.path
    assert info["DatabaseSize"] >= os.path.getsize(store.path) > 0
    assert (info["Messages"], info["Unread"]) == (2, 1)
    assert info["Tags"] == {"Onboarding": 1, "urgent": 2}

    stats = info["RuntimeStats"]
    assert set(stats) == RUNTIME_KEYS
    assert all(type(value) is int for value in stats.values())
    assert stats["SMTPAccepted"] == 3
    assert stats["SMTPAcceptedSize"] == received
    assert stats["SMTPRejected"] == 0
    assert stats["SMTPIgnored"] == 0
    assert stats["MessagesDeleted"] == 1
    assert 0 <= stats["Uptime"] <= time.monotonic() - started + 60
    # The server runs in this process: its resident size is ours, never above our peak.
    assert 1024 * 1024 < stats["Memory"] <= peak_resident_memory()


def test_info_of_an_empty_mailbox(web_server) -> None:
    info = httpx.get(f"{web_server.url}/api/v1/info", timeout=10).json()

    assert (info["Messages"], info["Unread"], info["Tags"]) == (0, 0, {})
    assert info["RuntimeStats"]["SMTPAccepted"] == 0
    assert info["RuntimeStats"]["MessagesDeleted"] == 0


def test_deleting_everything_counts_every_message(capture_server: CaptureServer) -> None:
    send(capture_server, message("one"), message("two"))
    api = httpx.Client(base_url=capture_server.url, timeout=10)

    assert api.request("DELETE", "/api/v1/messages").text == "ok"

    stats = api.get("/api/v1/info").json()["RuntimeStats"]
    assert stats["MessagesDeleted"] == 2
    assert stats["SMTPAccepted"] == 2


def test_webui_shape_field_by_field(web_server) -> None:
    reply = httpx.get(f"{web_server.url}/api/v1/webui", timeout=10)

    assert reply.status_code == 200
    assert reply.json() == {
        "Label": "",
        "SpamAssassin": False,
        "ChaosEnabled": False,
        "DuplicatesIgnored": False,
        "HideDeleteAllButton": False,
        "MessageRelay": {
            "Enabled": False,
            "SMTPServer": "",
            "ReturnPath": "",
            "AllowedRecipients": "",
            "BlockedRecipients": "",
            "OverrideFrom": "",
            "PreserveMessageIDs": False,
            "RecipientAllowlist": "",
        },
    }


def test_webui_says_when_chaos_is_enabled(mail_sandbox) -> None:
    # The pytest plugin's server has chaos on, so tests can use mailbox.chaos(...).
    webui = httpx.get(f"{mail_sandbox.url}/api/v1/webui", timeout=10).json()

    assert webui["ChaosEnabled"] is True
