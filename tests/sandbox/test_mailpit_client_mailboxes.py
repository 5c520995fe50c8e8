"""npm ``mailpit-api``, unchanged, given one mailbox's base URL (``/m/NAME``) and password:
it lists, searches, reads, tags, flags and deletes that mailbox's mail as if it were the whole
server, and never sees or changes the mail of another mailbox or of ``default``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from test_mailpit_clients import NODE_PROJECT, _tool, npm_project  # noqa: F401 - a fixture

from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore

PASSWORD = "ci-secret"
SCRIPT = "mailpit_mailbox_check.mjs"


def message(subject: str, tags: str = "") -> bytes:
    header = f"X-Tags: {tags}\r\n" if tags else ""
    return (
        f"From: app@example.com\r\nTo: ann@example.com\r\nSubject: {subject}\r\n{header}"
        "\r\nhello\r\n"
    ).encode()


def store_into(store: MessageStore, subject: str, tags: str = "") -> str:
    return store.add(message(subject, tags), "app@example.com", ["ann@example.com"]).result(10)


def run_mailbox_check(project: Path, *args: str) -> dict[str, Any]:
    """Run the mailbox script with ``args`` and return what it read."""
    script = project / SCRIPT
    # Beside node_modules so that `import "mailpit-api"` resolves; replaced whole so a
    # parallel worker never runs a half-written copy.
    temporary = project / f".{SCRIPT}.{os.getpid()}.mjs"
    temporary.write_bytes((NODE_PROJECT / SCRIPT).read_bytes())
    os.replace(temporary, script)
    finished = subprocess.run(
        [_tool("node"), str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, f"the mailpit-api script failed:\n{finished.stderr}"
    return json.loads(finished.stdout)


def subjects(page: dict[str, Any]) -> list[str]:
    return [m["Subject"] for m in page["messages"]]


def test_npm_client_works_on_one_mailbox_only(
    capture_server: CaptureServer,
    npm_project: Path,  # noqa: F811 - the fixture imported above
) -> None:
    root = capture_server.store
    root.create_mailbox("ci", password=PASSWORD)
    root.create_mailbox("other")
    ci, other = root.mailbox("ci"), root.mailbox("other")
    store_into(ci, "Private")
    store_into(ci, "Shared one")
    store_into(ci, "Shared two")
    other_id = store_into(other, "Shared other", tags="keep")
    store_into(root, "Shared default")

    report = run_mailbox_check(npm_project, f"{capture_server.url}/m/ci", "ci", PASSWORD, other_id)

    assert "401" in report["withoutPassword"]
    assert report["list"]["total"] == 3
    assert subjects(report["list"]) == ["Shared two", "Shared one", "Private"]
    assert subjects(report["search"]) == ["Shared two", "Shared one"]
    assert report["message"]["Subject"] == "Shared two"
    assert report["headers"]["Subject"] == ["Shared two"]
    assert "Subject: Shared two" in report["source"]
    assert "404" in report["otherMessageError"]
    assert "404" in report["otherSourceError"]
    assert report["otherTagsError"] is not None
    assert report["tags"] == ["mine"]
    assert report["tagsAfterRename"] == ["ours"]
    assert report["afterMarkAllRead"]["unread"] == 0
    assert subjects(report["afterDelete"]) == ["Shared one", "Private"]
    assert subjects(report["afterDeleteBySearch"]) == ["Private"]
    assert report["afterDeleteAll"]["total"] == 0

    # The other mailbox and default are as they were: not read, tagged or deleted.
    [kept] = other.list().messages
    assert (kept.id, kept.read, kept.tags) == (other_id, False, ["keep"])
    assert other.all_tags() == ["keep"]
    assert [(m.subject, m.read) for m in root.list().messages] == [("Shared default", False)]
