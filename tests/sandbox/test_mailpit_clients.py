"""Mailpit's own client libraries, unchanged, driving our capture server.

Teams that test against Mailpit already use these clients; pointing them at mail-sandbox must
just work. (a) PyPI ``mailpit-api-client``, which covers the message list, messages, parts and
headers; (b) npm ``mailpit-api``, run with Node from a small script, which also drives the wider
API: info, webui, send, tags, chaos, link check, search actions and rendered views.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import smtplib
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from mailpit.client.api import API

from mail_sandbox.server import CaptureServer

NODE_PROJECT = Path(__file__).parent / "node"
NOTES = b"Remember: the link expires in ten minutes.\n"


def welcome_message() -> EmailMessage:
    """A reset-style email with text, HTML, a Cc, an attachment and a Delivered-To header.

    The PyPI client's header model requires Date, Delivered-To and Message-Id, which mail
    delivered by a real MTA carries.
    """
    message = EmailMessage()
    message["From"] = "Microblog <no-reply@microblog.example>"
    message["To"] = "Ann <ann@example.com>"
    message["Cc"] = "audit@example.com"
    message["Reply-To"] = "Support <support@microblog.example>"
    message["Subject"] = "Welcome Ann"
    message["Date"] = format_datetime(datetime(2026, 11, 25, 8, 34, 18, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="microblog.example")
    message["Delivered-To"] = "ann@example.com"
    message.set_content("Confirm: http://127.0.0.1:5000/confirm/abc\n")
    message.add_alternative(
        '<p><a href="http://127.0.0.1:5000/confirm/abc">Confirm</a></p>\n', subtype="html"
    )
    message.add_attachment(NOTES, maintype="text", subtype="plain", filename="notes.txt")
    return message


def invoice_message() -> EmailMessage:
    """A plain one-part email to Bob."""
    message = EmailMessage()
    message["From"] = "billing@microblog.example"
    message["To"] = "bob@example.com"
    message["Subject"] = "Invoice"
    message.set_content("Total: 0.00\n")
    return message


def send(server: CaptureServer, message: EmailMessage, recipients: Sequence[str]) -> None:
    """Hand ``message`` to the capture server over SMTP, as an app would."""
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as smtp:
        smtp.send_message(message, to_addrs=list(recipients))


def send_both(server: CaptureServer) -> None:
    """The welcome email (with a blind copy) and then the invoice."""
    send(server, welcome_message(), ["ann@example.com", "audit@example.com", "hidden@example.com"])
    send(server, invoice_message(), ["bob@example.com"])


# (a) PyPI mailpit-api-client


def test_pypi_client_lists_and_reads_a_message(capture_server: CaptureServer) -> None:
    send_both(capture_server)
    api = API(capture_server.url, timeout=10)

    listing = api.get_messages()
    assert (listing.total, listing.unread, listing.count, listing.start) == (2, 2, 2, 0)
    invoice, welcome = listing.messages
    assert invoice.subject == "Invoice"
    assert welcome.subject == "Welcome Ann"
    assert welcome.from_.name == "Microblog"
    assert welcome.from_.address == "no-reply@microblog.example"
    assert [(c.name, c.address) for c in welcome.to] == [("Ann", "ann@example.com")]
    assert [c.address for c in welcome.cc] == ["audit@example.com"]
    assert [c.address for c in welcome.bcc] == ["hidden@example.com"]
    assert welcome.read is False
    assert welcome.attachments == 1
    assert welcome.message_id.endswith("@microblog.example")
    assert welcome.created.tzinfo is not None
    assert welcome.size > len(NOTES)

    message = api.get_message(welcome.id)
    assert message.id == welcome.id
    assert message.read is True
    assert message.subject == "Welcome Ann"
    assert message.date == datetime(2026, 11, 25, 8, 34, 18, tzinfo=UTC)
    assert "http://127.0.0.1:5000/confirm/abc" in message.text
    assert 'href="http://127.0.0.1:5000/confirm/abc"' in message.html
    assert message.inline == []
    [attachment] = message.attachments
    assert (attachment.file_name, attachment.content_type, attachment.size) == (
        "notes.txt",
        "text/plain",
        len(NOTES),
    )
    assert api.get_message_attachment(message.id, attachment.part_id) == NOTES.decode()
    assert api.get_messages().unread == 1


def test_pypi_client_marks_read_and_deletes(capture_server: CaptureServer) -> None:
    send_both(capture_server)
    api = API(capture_server.url, timeout=10)
    invoice, welcome = api.get_messages().messages

    # This client sends form bodies (ids=...&Read=True), as older Mailpit clients do.
    api.put_messages([invoice.id], "Read", True)
    listing = api.get_messages()
    assert listing.unread == 1
    assert [m.read for m in listing.messages] == [True, False]
    api.put_messages([invoice.id], "Read", False)
    assert api.get_messages().unread == 2

    api.delete_messages([invoice.id])
    listing = api.get_messages()
    assert [m.id for m in listing.messages] == [welcome.id]
    with pytest.raises(httpx.HTTPStatusError) as gone:
        api.get_message(invoice.id)
    assert gone.value.response.status_code == 404

    api.delete_messages([])  # the client documents an empty list as "delete all"
    assert api.get_messages().total == 0


def test_pypi_client_reads_headers(capture_server: CaptureServer) -> None:
    send(capture_server, welcome_message(), ["ann@example.com"])
    api = API(capture_server.url, timeout=10)
    [summary] = api.get_messages().messages

    headers = api.get_message_headers(summary.id)
    assert headers.from_ == ["Microblog <no-reply@microblog.example>"]
    assert headers.delivered_to == ["ann@example.com"]
    assert headers.message_id == [f"<{summary.message_id}>"]
    assert headers.date == [datetime(2026, 11, 25, 8, 34, 18, tzinfo=UTC)]
    assert headers.additional["Subject"] == ["Welcome Ann"]


# (b) npm mailpit-api


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mail-sandbox-tests"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: the npm Mailpit client test needs Node.js 18+ and npm "
            "(Debian: apt-get install nodejs npm)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def npm_project() -> Path:
    """A directory with mailpit-api installed by ``npm ci`` from the committed lock file.

    Kept in the user's cache, keyed by the lock file's hash, so later runs need no network.
    Installed in a private directory first and then renamed, so parallel workers never see a
    half-installed copy.
    """
    node, npm = _tool("node"), _tool("npm")
    manifest = (NODE_PROJECT / "package.json").read_bytes()
    lock = (NODE_PROJECT / "package-lock.json").read_bytes()
    digest = hashlib.sha256(manifest + b"\0" + lock).hexdigest()[:16]
    project = _cache_root() / f"npm-{digest}"
    if not (project / "node_modules" / "mailpit-api" / "package.json").is_file():
        staging = project.with_name(f"{project.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "package.json").write_bytes(manifest)
        (staging / "package-lock.json").write_bytes(lock)
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if installed.returncode != 0:
            pytest.fail(f"npm ci failed:\n{installed.stdout}\n{installed.stderr}", pytrace=False)
        try:
            staging.rename(project)
        except OSError:
            # Another worker finished first; its copy is identical.
            shutil.rmtree(staging, ignore_errors=True)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < 18:
        pytest.fail(f"mailpit-api needs Node.js 18 or newer, found {version.stdout}", pytrace=False)
    return project


def run_node_check(project: Path, url: str) -> dict[str, Any]:
    """Run the client script against ``url`` and return what it read."""
    script = project / "mailpit_api_check.mjs"
    # Written beside its node_modules so that `import "mailpit-api"` resolves; replaced whole
    # so a parallel worker never runs a half-written copy.
    temporary = project / f".mailpit_api_check.{os.getpid()}.mjs"
    temporary.write_bytes((NODE_PROJECT / "mailpit_api_check.mjs").read_bytes())
    os.replace(temporary, script)
    finished = subprocess.run(
        [_tool("node"), str(script), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, f"the mailpit-api script failed:\n{finished.stderr}"
    return json.loads(finished.stdout)


def test_npm_client_drives_the_server(chaos_server: CaptureServer, npm_project: Path) -> None:
    capture_server = chaos_server
    send_both(capture_server)
    stored = {m.subject: m.id for m in capture_server.store.list(0, 10).messages}
    welcome_raw = capture_server.store.raw(stored["Welcome Ann"])
    report = run_node_check(npm_project, capture_server.url)

    listing = report["list"]
    assert {"total", "unread", "count", "messages_count", "messages_unread", "start", "tags"} < set(
        listing
    )
    assert (listing["total"], listing["unread"], listing["messages_count"]) == (2, 2, 2)
    assert [m["Subject"] for m in listing["messages"]] == ["Invoice", "Welcome Ann"]
    welcome_id = listing["messages"][1]["ID"]
    assert welcome_id == stored["Welcome Ann"]

    assert report["search"]["messages_count"] == 1
    assert [m["ID"] for m in report["search"]["messages"]] == [welcome_id]
    assert report["waited"]["ID"] == welcome_id
    assert report["latest"]["Subject"] == "Invoice"

    message = report["message"]
    assert message["ID"] == welcome_id
    assert message["From"] == {"Name": "Microblog", "Address": "no-reply@microblog.example"}
    assert message["To"] == [{"Name": "Ann", "Address": "ann@example.com"}]
    assert message["Cc"] == [{"Name": "", "Address": "audit@example.com"}]
    assert message["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert message["ReplyTo"] == [{"Name": "Support", "Address": "support@microblog.example"}]
    assert message["Subject"] == "Welcome Ann"
    assert message["Date"] == "2026-11-25T08:34:18.000Z"
    assert message["Tags"] == []
    assert "http://127.0.0.1:5000/confirm/abc" in message["Text"]
    assert 'href="http://127.0.0.1:5000/confirm/abc"' in message["HTML"]
    [attachment] = message["Attachments"]
    assert attachment["FileName"] == "notes.txt"
    assert attachment["ContentType"] == "text/plain"
    assert attachment["Size"] == len(NOTES)
    assert attachment["Checksums"]["SHA1"] == hashlib.sha1(NOTES).hexdigest()
    assert attachment["Checksums"]["SHA256"] == hashlib.sha256(NOTES).hexdigest()
    assert report["attachment"]["text"] == NOTES.decode()
    assert report["attachment"]["size"] == len(NOTES)

    assert report["headers"]["Subject"] == ["Welcome Ann"]
    assert report["headers"]["Delivered-To"] == ["ann@example.com"]
    assert welcome_raw is not None
    assert report["source"] == welcome_raw.decode()

    assert report["markUnreadReply"] == "ok"
    assert report["afterMarkUnread"]["unread"] == 1
    assert report["markAllReadReply"] == "ok"
    assert report["afterMarkAllRead"]["unread"] == 0
    assert report["deleteReply"] == "ok"
    assert [m["ID"] for m in report["afterDelete"]["messages"]] == [welcome_id]
    assert "404" in report["missingMessageError"]
    assert report["deleteAllReply"] == "ok"
    assert report["afterDeleteAll"]["total"] == 0

    # The wider API, after the mailbox was emptied.
    info = report["info"]
    assert info["Version"] and info["LatestVersion"] == "disabled"
    assert (info["Messages"], info["Unread"], info["Tags"]) == (0, 0, {})
    assert info["RuntimeStats"]["SMTPAccepted"] == 2
    assert info["RuntimeStats"]["MessagesDeleted"] == 2
    assert report["webui"]["ChaosEnabled"] is True
    assert report["webui"]["MessageRelay"]["Enabled"] is False

    sent_id = report["sent"]["ID"]
    sent = report["sentMessage"]
    assert sent["ID"] == sent_id
    assert sent["From"] == {"Name": "Microblog", "Address": "app@microblog.example"}
    assert sent["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert sent["Tags"] == ["api"]
    [hello] = sent["Attachments"]
    assert (hello["FileName"], hello["Size"]) == ("hello.txt", 5)

    links = {link["URL"]: link for link in report["linkCheck"]["Links"]}
    assert links[f"{capture_server.url}/"]["StatusCode"] == 200
    assert links["http://forbidden.example/x"] == {
        "URL": "http://forbidden.example/x",
        "StatusCode": 0,
        "Status": "skipped: host not allowed",
    }
    assert report["linkCheck"]["Errors"] == 0
    assert report["renderedHTML"].startswith(f'<p><a href="{capture_server.url}/">inbox</a>')
    assert 'target="_blank" rel="noreferrer noopener"' in report["renderedEmbedded"]
    assert "forbidden.example" in report["renderedText"]

    assert report["setTagsReply"] == "ok"
    assert report["tagsAfterSet"] == ["Billing", "urgent"]
    assert report["renameReply"] == "ok"
    assert report["tagsAfterRename"] == ["Invoices 2026", "urgent"]
    assert report["deleteTagReply"] == "ok"
    assert report["tagsAfterDelete"] == ["urgent"]

    assert report["chaosBefore"]["Recipient"] == {"ErrorCode": 451, "Probability": 0}
    assert report["chaosSet"]["Recipient"] == {"ErrorCode": 451, "Probability": 100}
    assert report["chaosSet"]["Sender"] == {"ErrorCode": 451, "Probability": 0}
    assert report["chaosReset"]["Recipient"] == {"ErrorCode": 451, "Probability": 0}

    assert report["readBySearchReply"] == "ok"
    read = {m["Subject"]: m["Read"] for m in report["afterReadBySearch"]["messages"]}
    assert read == {"Second": True, "Sent through the API": True}
    assert report["unreadBySearchReply"] == "ok"
    assert report["afterUnreadBySearch"]["unread"] == 1
    assert report["deleteBySearchReply"] == "ok"
    assert [m["ID"] for m in report["afterDeleteBySearch"]["messages"]] == [sent_id]
    assert report["infoAtEnd"]["Messages"] == 1
    assert report["infoAtEnd"]["Tags"] == {"urgent": 1}
    assert capture_server.store.counts() == (1, 0)
