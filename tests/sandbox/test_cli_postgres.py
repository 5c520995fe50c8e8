"""``mail-sandbox --db postgresql://...``: servers keeping their mail in one PostgreSQL database."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import urllib.request

import httpx
import pytest
from process_output import start_mail_sandbox

from tools.postgres_cluster import Cluster

MESSAGE = b"From: app@example.com\r\nTo: ann@example.com\r\nSubject: %s\r\n\r\nhello\r\n"


@pytest.fixture
def database(postgres_url: str) -> str:
    """A fresh database's URL, with a password in it (the cluster trusts loopback anyway)."""
    return postgres_url.replace("postgres@", "postgres:s3cret@", 1)


def subjects(url: str, path: str = "/api/v1/messages") -> list[str]:
    with urllib.request.urlopen(url + path, timeout=30) as response:  # noqa: S310 - loopback
        return [m["Subject"] for m in json.load(response)["messages"]]


def send(port: int, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("app@example.com", ["ann@example.com"], MESSAGE % subject.encode())


def stopped(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)


def test_two_servers_on_one_database_share_one_inbox(database: str):
    first, first_smtp, first_url = start_mail_sandbox("--db", database)
    try:
        second, second_smtp, second_url = start_mail_sandbox("--db", database)
        try:
            send(first_smtp, "through the first")
            send(second_smtp, "through the second")
            assert subjects(second_url) == ["through the second", "through the first"]
            assert subjects(first_url, "/api/v1/search?query=first") == ["through the first"]
        finally:
            stopped(second)
    finally:
        stopped(first)


def test_the_url_is_printed_without_its_password(database: str):
    process = subprocess.Popen(
        [sys.executable, "-m", "mail_sandbox", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MAIL_SANDBOX_DB": database},
    )
    try:
        assert process.stdout is not None
        printed = ""
        for line in process.stdout:
            printed += line
            if "mail kept in" in line:
                break
        assert f"mail kept in {database.replace(':s3cret@', ':***@')}" in printed
        assert "s3cret" not in printed
    finally:
        stopped(process)


def test_an_unreachable_database_is_one_line_and_status_2(cluster: Cluster):
    url = cluster.url("nowhere").replace(f":{cluster.port}/", ":1/")
    done = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0",
         "--db", url.replace("postgres@", "postgres:s3cret@")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mail-sandbox: "), done.stderr
    assert "s3cret" not in done.stderr


def test_one_servers_live_inbox_hears_of_mail_another_accepted(database: str):
    first, first_smtp, _first_url = start_mail_sandbox("--db", database)
    try:
        second, _second_smtp, second_url = start_mail_sandbox("--db", database)
        try:
            with httpx.stream("GET", second_url + "/api/events", timeout=30) as stream:
                assert stream.status_code == 200
                # The second server listens from here on: the mail goes through the first.
                send(first_smtp, "heard across servers")
                event = ""
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        event = line.partition(":")[2].strip()
                    elif line.startswith("data:") and event == "new":
                        ids = json.loads(line.partition(":")[2])["IDs"]
                        break
            assert subjects(second_url) == ["heard across servers"]
            with urllib.request.urlopen(f"{second_url}/api/v1/message/{ids[0]}") as response:  # noqa: S310
                assert json.load(response)["Subject"] == "heard across servers"
        finally:
            stopped(second)
    finally:
        stopped(first)
