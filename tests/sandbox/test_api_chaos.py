"""Chaos, wired up: ``GET/PUT /api/v1/chaos`` in Mailpit's shape, SMTP answering MAIL FROM,
RCPT TO and AUTH with the trigger's code (driven with smtplib as an app would), the
``--enable-chaos`` switch, and the pytest plugin's ``mailbox.chaos(...)``."""

from __future__ import annotations

import json
import signal
import smtplib
import urllib.request

import httpx
import pytest
from process_output import start_mail_sandbox

from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore

DEFAULTS = {
    "Sender": {"ErrorCode": 451, "Probability": 0},
    "Recipient": {"ErrorCode": 451, "Probability": 0},
    "Authentication": {"ErrorCode": 535, "Probability": 0},
}
NOT_ENABLED = "Chaos is not enabled (start mail-sandbox with --enable-chaos)"
MESSAGE = b"From: app@example.com\r\nTo: ann@example.com\r\nSubject: Hi\r\n\r\nhello\r\n"


@pytest.fixture
def api(chaos_server: CaptureServer) -> httpx.Client:
    """An HTTP client of the chaos-enabled server."""
    return httpx.Client(base_url=chaos_server.url, timeout=10)


def smtp(server: CaptureServer) -> smtplib.SMTP:
    """An SMTP session with the server."""
    return smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10)


def rejected(api: httpx.Client) -> int:
    """The server's count of refused SMTP commands."""
    return api.get("/api/v1/info").json()["RuntimeStats"]["SMTPRejected"]


# --- the API ---------------------------------------------------------------------------------


def test_triggers_start_at_the_defaults_which_never_fire(api: httpx.Client) -> None:
    reply = api.get("/api/v1/chaos")

    assert reply.status_code == 200
    assert reply.json() == DEFAULTS


def test_put_sets_triggers_and_resets_the_omitted_ones(api: httpx.Client) -> None:
    api.put("/api/v1/chaos", json={"Sender": {"ErrorCode": 421, "Probability": 10}})

    reply = api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 550, "Probability": 100}})

    expected = {**DEFAULTS, "Recipient": {"ErrorCode": 550, "Probability": 100}}
    assert reply.status_code == 200
    assert reply.json() == expected
    assert api.get("/api/v1/chaos").json() == expected


@pytest.mark.parametrize("body", [b"", b"{}"], ids=["no-body", "empty-object"])
def test_put_without_triggers_resets_them_all(api: httpx.Client, body: bytes) -> None:
    api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 550, "Probability": 100}})

    reply = api.put("/api/v1/chaos", content=body, headers={"Content-Type": "application/json"})

    assert reply.json() == DEFAULTS


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"Recipient": {"ErrorCode": 399, "Probability": 100}}, "between 400 and 599"),
        ({"Recipient": {"ErrorCode": 600, "Probability": 100}}, "between 400 and 599"),
        ({"Sender": {"ErrorCode": 451, "Probability": 101}}, "between 0 and 100"),
        ({"Sender": {"ErrorCode": 451, "Probability": -1}}, "between 0 and 100"),
        ({"Sender": {"ErrorCode": "451", "Probability": 5}}, "whole number"),
        ({"Everything": {"ErrorCode": 451}}, "unknown chaos trigger"),
        ([], "JSON object"),
    ],
)
def test_out_of_range_triggers_are_400_and_change_nothing(
    api: httpx.Client, body: object, complaint: str
) -> None:
    reply = api.put("/api/v1/chaos", json=body)

    assert reply.status_code == 400
    assert complaint in reply.json()["Error"]
    assert api.get("/api/v1/chaos").json() == DEFAULTS


def test_put_with_bad_json_is_400(api: httpx.Client) -> None:
    reply = api.put("/api/v1/chaos", content=b"{Recipient", headers={"Content-Type": "text/plain"})

    assert reply.status_code == 400
    assert "not valid JSON" in reply.json()["Error"]


def test_while_chaos_is_off_both_endpoints_say_so(web_server) -> None:
    api = httpx.Client(base_url=web_server.url, timeout=10)

    got = api.get("/api/v1/chaos")
    put = api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 451, "Probability": 100}})

    assert (got.status_code, got.json()) == (400, {"Error": NOT_ENABLED})
    assert (put.status_code, put.json()) == (400, {"Error": NOT_ENABLED})


def test_changing_triggers_from_another_site_is_refused(api: httpx.Client) -> None:
    body = {"Recipient": {"ErrorCode": 451, "Probability": 100}}

    reply = api.put("/api/v1/chaos", json=body, headers={"Origin": "http://evil.example"})

    assert reply.status_code == 403
    assert api.get("/api/v1/chaos").json() == DEFAULTS


# --- SMTP answering with the trigger's code ------------------------------------------------


def test_sender_trigger_refuses_mail_from(
    api: httpx.Client, chaos_server: CaptureServer, store: MessageStore
) -> None:
    api.put("/api/v1/chaos", json={"Sender": {"ErrorCode": 421, "Probability": 100}})

    with smtp(chaos_server) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)

    assert refused.value.smtp_code == 421
    assert refused.value.smtp_error == b"Chaos sender error"
    assert store.counts() == (0, 0)
    assert rejected(api) == 1


def test_recipient_trigger_refuses_every_rcpt_to(
    api: httpx.Client, chaos_server: CaptureServer, store: MessageStore
) -> None:
    api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 451, "Probability": 100}})

    with smtp(chaos_server) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("app@example.com", ["ann@example.com", "bob@example.com"], MESSAGE)

    assert refused.value.recipients == {
        "ann@example.com": (451, b"Chaos recipient error"),
        "bob@example.com": (451, b"Chaos recipient error"),
    }
    assert store.counts() == (0, 0)
    assert rejected(api) == 2


def test_authentication_trigger_refuses_auth(
    api: httpx.Client, chaos_server: CaptureServer
) -> None:
    api.put("/api/v1/chaos", json={"Authentication": {"ErrorCode": 535, "Probability": 100}})

    with smtp(chaos_server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login("app", "secret")

    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error == b"Chaos authentication error"
    assert rejected(api) >= 1


def test_mail_flows_again_once_the_trigger_is_cleared(
    api: httpx.Client, chaos_server: CaptureServer, store: MessageStore
) -> None:
    api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 451, "Probability": 100}})
    with smtp(chaos_server) as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)

    api.put("/api/v1/chaos", json={})
    with smtp(chaos_server) as client:
        client.login("app", "secret")
        assert client.sendmail("app@example.com", ["ann@example.com"], MESSAGE) == {}

    assert store.counts() == (1, 1)
    stats = api.get("/api/v1/info").json()["RuntimeStats"]
    assert (stats["SMTPAccepted"], stats["SMTPRejected"]) == (1, 1)


def test_probability_zero_never_fires(api: httpx.Client, chaos_server: CaptureServer) -> None:
    api.put("/api/v1/chaos", json={"Recipient": {"ErrorCode": 550, "Probability": 0}})

    with smtp(chaos_server) as client:
        for _ in range(20):
            assert client.sendmail("app@example.com", ["ann@example.com"], MESSAGE) == {}


def test_triggers_do_nothing_while_chaos_is_off(capture_server: CaptureServer) -> None:
    # capture_server is started without enable_chaos; its control refuses to be set.
    with pytest.raises(ValueError, match="Chaos is not enabled"):
        capture_server.chaos.update({"Recipient": {"ErrorCode": 550, "Probability": 100}})

    with smtp(capture_server) as client:
        assert client.sendmail("app@example.com", ["ann@example.com"], MESSAGE) == {}


# --- the pytest plugin ---------------------------------------------------------------------


def test_mailbox_chaos_fails_recipients_inside_the_block_only(mailbox) -> None:
    with mailbox.chaos(recipient=451) as triggers:
        assert triggers["Recipient"] == {"ErrorCode": 451, "Probability": 100}
        with (
            smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client,
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
        ):
            client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)
        assert refused.value.recipients["ann@example.com"][0] == 451

    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)
    assert mailbox.wait_for(to="ann@example.com").subject == "Hi"


def test_mailbox_chaos_sender_and_authentication(mailbox) -> None:
    with mailbox.chaos(sender=550, authentication=454):
        with (
            smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client,
            pytest.raises(smtplib.SMTPAuthenticationError) as auth,
        ):
            client.login("app", "secret")
        with (
            smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client,
            pytest.raises(smtplib.SMTPSenderRefused) as sender,
        ):
            client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)

    assert auth.value.smtp_code == 454
    assert sender.value.smtp_code == 550
    assert mailbox.messages() == []


def test_mailbox_chaos_resets_even_when_the_block_fails(mailbox) -> None:
    with pytest.raises(RuntimeError), mailbox.chaos(recipient=451):
        raise RuntimeError("the test failed inside the block")

    triggers = httpx.get(f"{mailbox.url}/api/v1/chaos", timeout=10).json()
    assert triggers == DEFAULTS


def test_mailbox_chaos_needs_a_trigger(mailbox) -> None:
    with pytest.raises(TypeError, match=r"chaos\(recipient=451\)"), mailbox.chaos():
        pass


# --- the command line ----------------------------------------------------------------------


def put_json(url: str, body: object) -> dict:
    """PUT a JSON body with the standard library, as a curl user would."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_enable_chaos_flag_as_a_user_runs_it() -> None:
    process, smtp_port, url = start_mail_sandbox("--enable-chaos")
    try:
        assert "chaos enabled" in process.stdout.readline()
        put_json(f"{url}/api/v1/chaos", {"Recipient": {"ErrorCode": 451, "Probability": 100}})
        with (
            smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client,
            pytest.raises(smtplib.SMTPRecipientsRefused),
        ):
            client.sendmail("app@example.com", ["ann@example.com"], MESSAGE)

        put_json(f"{url}/api/v1/chaos", {})
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            assert client.sendmail("app@example.com", ["ann@example.com"], MESSAGE) == {}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_without_the_flag_chaos_stays_off() -> None:
    process, _, url = start_mail_sandbox()
    try:
        reply = httpx.get(f"{url}/api/v1/chaos", timeout=10)
        assert (reply.status_code, reply.json()) == (400, {"Error": NOT_ENABLED})
        assert httpx.get(f"{url}/api/v1/webui", timeout=10).json()["ChaosEnabled"] is False
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
