"""The check both the watchdog and the fuzzing tests end with: does capture still work?

A server whose store thread has died still answers HTTP, so only a real message tells: it must
get 250 within two seconds and then be shown by the API.
"""

from __future__ import annotations

import json
import smtplib
import urllib.parse
import urllib.request
import uuid
from typing import Any

from mail_sandbox.server import CaptureServer

ANSWER_WITHIN = 2.0


def get_json(server: CaptureServer, path: str) -> Any:
    """GET ``path`` from the server's API and decode the JSON answer."""
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def assert_still_captures(server: CaptureServer) -> None:
    """A normal message is answered 250 within ``ANSWER_WITHIN`` seconds and shows in the API.

    Chaos triggers a test may have set are turned off first: they refuse mail on purpose.
    """
    if server.chaos.enabled:
        server.chaos.reset()
    assert server.smtp is not None
    subject = f"still capturing {uuid.uuid4().hex}"
    message = f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nhello\r\n"
    # The timeout bounds each reply, the DATA answer included.
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=ANSWER_WITHIN) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("a@example.com")[0] == 250
        assert client.rcpt("b@example.com")[0] == 250
        code, reply = client.data(message.encode())
    assert code == 250, reply
    message_id = reply.decode().rsplit(" ", 1)[-1]
    shown = get_json(server, f"/api/v1/message/{urllib.parse.quote(message_id)}")
    assert shown["Subject"] == subject
    listed = get_json(server, "/api/v1/messages?limit=5")
    assert message_id in [summary["ID"] for summary in listed["messages"]]
