"""Real ``mail-sandbox`` processes sharing one database, for tests that need several servers:
each started with its output read on, stopped again, and asked what it stores."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections import Counter

from process_output import ProcessOutput, start_mail_sandbox

from mail_sandbox.defaults import MAX_PAGE_SIZE


def started(database: str, *flags: str) -> tuple[subprocess.Popen[str], int, str, ProcessOutput]:
    """A server on ``database`` with ``flags``, its output read on (so that logging never
    blocks it); returns the process, its SMTP port, its inbox URL and its output."""
    process, smtp_port, url = start_mail_sandbox("--db", database, *flags)
    return process, smtp_port, url, ProcessOutput(process)


def stopped(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def get(url: str) -> tuple[int, dict]:
    """Status and JSON body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def stored_subjects(url: str) -> Counter[str]:
    """How many times each subject is stored, by the server at ``url``."""
    status, body = get(f"{url}/api/v1/messages?limit={MAX_PAGE_SIZE}")
    assert status == 200, body
    assert body["total"] <= MAX_PAGE_SIZE, "more mail than the test sent"
    return Counter(message["Subject"] for message in body["messages"])
