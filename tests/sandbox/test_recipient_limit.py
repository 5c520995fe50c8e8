"""A limit on recipients per message, as Mailpit has: past it RCPT TO gets 452 (RFC 5321
4.5.3.1.8) and the message still goes to those accepted before."""

from __future__ import annotations

import json
import smtplib
import urllib.parse
import urllib.request
from typing import Any

from process_output import start_mail_sandbox

from mail_sandbox.server import CaptureServer


def recipients(count: int) -> list[str]:
    return [f"user{i}@example.com" for i in range(count)]


def send_to(
    host: str, port: int, addresses: list[str], subject: str = "many"
) -> tuple[list[int], tuple[int, bytes]]:
    """One message to ``addresses``: the reply code of each RCPT TO and the reply to DATA."""
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo()
        assert client.mail("app@example.com")[0] == 250
        codes = [client.rcpt(address)[0] for address in addresses]
        return codes, client.data(f"Subject: {subject}\r\n\r\nhi\r\n".encode())


def latest(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/v1/messages?limit=1", timeout=10) as response:
        message_id = json.load(response)["messages"][0]["ID"]
    quoted = urllib.parse.quote(message_id)
    with urllib.request.urlopen(f"{url}/api/v1/message/{quoted}", timeout=10) as response:
        return json.load(response)


def kept(message: dict[str, Any]) -> list[str]:
    return [a["Address"] for a in message["To"] + message["Cc"] + message["Bcc"]]


def test_past_the_limit_rcpt_gets_452_and_the_first_ones_get_the_message(start_capture_server):
    server: CaptureServer = start_capture_server(max_recipients=3)
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=30) as client:
        client.ehlo()
        client.mail("app@example.com")
        replies = [client.rcpt(address) for address in recipients(5)]
        code, _ = client.data(b"Subject: capped\r\n\r\nhi\r\n")

    assert [code for code, _text in replies] == [250, 250, 250, 452, 452]
    assert replies[3][1] == b"4.5.3 Too many recipients"
    assert code == 250
    assert kept(latest(server.url)) == recipients(3)


def test_the_default_limit_is_mailpits_100(capture_server):
    codes, (code, _) = send_to(capture_server.smtp.host, capture_server.smtp.port, recipients(101))

    assert codes == [250] * 100 + [452]
    assert code == 250
    assert sorted(kept(latest(capture_server.url))) == sorted(recipients(100))


def test_the_limit_counts_each_message_on_its_own(start_capture_server):
    server: CaptureServer = start_capture_server(max_recipients=2)
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=30) as client:
        for subject in ("first", "second"):
            message = f"Subject: {subject}\r\n\r\n"
            refused = client.sendmail("app@example.com", recipients(2), message)
            assert refused == {}
        client.mail("app@example.com")
        client.rcpt("user0@example.com")
        client.rset()
        client.mail("app@example.com")
        assert [client.rcpt(a)[0] for a in recipients(3)] == [250, 250, 452]


def test_zero_lifts_the_limit(start_capture_server):
    server: CaptureServer = start_capture_server(max_recipients=0)

    codes, (code, _) = send_to(server.smtp.host, server.smtp.port, recipients(250))

    assert codes == [250] * 250
    assert code == 250
    assert len(kept(latest(server.url))) == 250


def test_the_max_recipients_flag_sets_the_limit():
    process, smtp_port, url = start_mail_sandbox("--max-recipients", "2")
    try:
        codes, (code, _) = send_to("127.0.0.1", smtp_port, recipients(3))
        assert codes == [250, 250, 452]
        assert code == 250
        assert kept(latest(url)) == recipients(2)
    finally:
        process.terminate()
        process.wait(timeout=20)
