"""The SMTP side, driven with smtplib as an app would: every accepted message is stored."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import pytest

from mail_sandbox.server import CaptureServer
from mail_sandbox.smtp import SMTPSettings


def connect(server: CaptureServer) -> smtplib.SMTP:
    """An SMTP client session to the capture server."""
    return smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10)


def reset_email(to: str = "susan@example.com", subject: str = "Reset") -> EmailMessage:
    """A multipart text + HTML message like the app's reset email."""
    message = EmailMessage()
    message["From"] = "Microblog <no-reply@microblog.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Click http://127.0.0.1:5000/reset_password/abc\n")
    message.add_alternative('<p><a href="http://127.0.0.1:5000/reset_password/abc">Reset</a></p>')
    return message


def only_message(server: CaptureServer):
    """The single stored message's summary and raw bytes."""
    page = server.store.list()
    assert page.total == 1
    summary = page.messages[0]
    return summary, server.store.raw(summary.id)


def test_plain_message_is_stored_byte_for_byte(capture_server):
    raw = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Hello\r\n\r\n"
        b"line one\r\n..leading dot is unstuffed\r\n"
    )
    with connect(capture_server) as client:
        refused = client.sendmail("a@example.com", ["b@example.com"], raw)
    assert refused == {}
    summary, stored = only_message(capture_server)
    assert summary.subject == "Hello"
    assert stored == raw  # smtplib dot-stuffs the line, the server unstuffs it


def test_250_names_the_stored_id(capture_server):
    with connect(capture_server) as client:
        client.ehlo()
        client.mail("a@example.com")
        client.rcpt("b@example.com")
        code, reply = client.data(b"Subject: id\r\n\r\nbody\r\n")
    assert code == 250
    assert capture_server.store.latest_id() in reply.decode()


def test_starttls_with_the_self_signed_certificate(capture_server):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with connect(capture_server) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        client.send_message(reset_email(subject="Over TLS"))
    summary, _ = only_message(capture_server)
    assert summary.subject == "Over TLS"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_with_any_credentials(capture_server, mechanism):
    with connect(capture_server) as client:
        client.ehlo()
        assert mechanism in client.esmtp_features["auth"].upper()
        client.user, client.password = "anyone", "any password"
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235
        client.send_message(reset_email(subject=f"Authenticated {mechanism}"))
    summary, _ = only_message(capture_server)
    assert summary.subject == f"Authenticated {mechanism}"


def test_smtputf8_address_and_subject(capture_server):
    message = EmailMessage()
    message["From"] = "Zoë <zoë@exämple.com>"
    message["To"] = "用户@例子.广告"
    message["Subject"] = "Grüße, 世界"
    message.set_content("Ünïcödé body\n")
    with connect(capture_server) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.send_message(message)
    summary, raw = only_message(capture_server)
    assert summary.subject == "Grüße, 世界"
    assert summary.sender.address == "zoë@exämple.com"
    assert summary.to[0].address == "用户@例子.广告"
    assert "Ünïcödé".encode() in raw


def test_8bit_body(capture_server):
    raw = (
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: 8bit\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nnaïve café\r\n"
    ).encode()
    with connect(capture_server) as client:
        client.ehlo()
        assert client.has_extn("8bitmime")
        client.sendmail("a@example.com", ["b@example.com"], raw, mail_options=["BODY=8BITMIME"])
    summary, stored = only_message(capture_server)
    assert stored == raw
    assert "naïve café" in summary.snippet


def test_oversize_message_gets_552_and_the_connection_stays_usable(capture_server):
    big = b"Subject: too big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1100  # over the 1 MiB limit
    with connect(capture_server) as client:
        client.ehlo()
        # No SIZE= on MAIL FROM, as many clients do: the limit must hold at DATA too.
        assert client.mail("a@example.com")[0] == 250
        assert client.rcpt("b@example.com")[0] == 250
        code, _ = client.data(big)
        assert code == 552
        client.rset()
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: small\r\n\r\nok\r\n")
    summary, _ = only_message(capture_server)
    assert summary.subject == "small"


def test_declared_oversize_is_refused_at_mail_from(capture_server):
    big = b"Subject: too big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1100
    with connect(capture_server) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("a@example.com", ["b@example.com"], big)
        assert refused.value.smtp_code == 552
    assert capture_server.store.counts() == (0, 0)


def test_many_recipients_become_to_and_bcc(capture_server):
    # As many as the default limit on recipients per message allows.
    recipients = [f"user{i}@example.com" for i in range(SMTPSettings().max_recipients)]
    raw = b"From: a@example.com\r\nTo: user0@example.com\r\nSubject: many\r\n\r\nhi\r\n"
    with connect(capture_server) as client:
        assert client.sendmail("a@example.com", recipients, raw) == {}
    summary, _ = only_message(capture_server)
    assert [a.address for a in summary.to] == ["user0@example.com"]
    assert {a.address for a in summary.bcc} == set(recipients[1:])


def test_attachment_and_inline_image(capture_server):
    message = reset_email(subject="With parts")
    message.get_payload()[1].add_related(
        b"\x89PNG fake image", maintype="image", subtype="png", cid="<logo@example>"
    )
    message.add_attachment(b"col1,col2\n1,2\n", maintype="text", subtype="csv", filename="data.csv")
    with connect(capture_server) as client:
        client.send_message(message)
    summary, raw = only_message(capture_server)
    assert summary.attachments == 1
    assert summary.inline == 1
    assert b'filename="data.csv"' in raw


def test_nothing_is_relayed_recipients_at_other_domains_are_only_stored(capture_server):
    with connect(capture_server) as client:
        refused = client.sendmail(
            "a@example.com", ["someone@gmail.com"], b"Subject: stays\r\n\r\nhere\r\n"
        )
    assert refused == {}
    summary, _ = only_message(capture_server)
    assert summary.bcc[0].address == "someone@gmail.com"
