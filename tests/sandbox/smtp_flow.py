"""Mail flowing into servers from several threads, each send's outcome kept, so that a test can
break something mid-flow and then hold every answer against what was stored.

Sends are rationed: a thread sends only while the test has granted sends (``grant``), so a
test decides how much mail each phase sees without pacing the senders by time.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MESSAGE = "From: app@example.com\r\nTo: ann@example.com\r\nSubject: {}\r\n\r\nhello\r\n"
#: How long one SMTP exchange may take: longer than the store's wait for an absent database.
SMTP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Sent:
    """One message's send: where to, the reply to its DATA (None: the connection failed before
    a reply; ``error`` says how), and when it began and ended (``time.monotonic``)."""

    subject: str
    port: int
    reply: int | None
    error: str
    began: float
    ended: float


class MailFlow:
    """``threads`` threads sending distinct subjects (``"{label} {thread}-{n}"``), each taking
    ``ports`` in turn and keeping one connection per port while it works."""

    def __init__(self, label: str, ports: Sequence[int], *, threads: int) -> None:
        self._label = label
        self._ports = list(ports)
        self._granted = 0
        self._finishing = False
        self._sent: list[Sent] = []
        self._lock = threading.Condition()
        self._threads = [
            threading.Thread(target=self._send_all, args=(number,), daemon=True)
            for number in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def grant(self, sends: int) -> None:
        """Let the threads make ``sends`` more sends between them."""
        with self._lock:
            self._granted += sends
            self._lock.notify_all()

    def sent(self) -> list[Sent]:
        """Every send answered so far, in the order they ended."""
        with self._lock:
            return list(self._sent)

    def wait_for(self, condition: Callable[[list[Sent]], bool], timeout: float = 60) -> None:
        """Block until ``condition(sent)`` holds; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self._sent):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the mail flow never got there: {self._summary()}")
                self._lock.wait(left)

    def finish(self, timeout: float = 60) -> list[Sent]:
        """Stop the threads once the sends under way have ended (those granted but not begun
        are not made), and return every send."""
        with self._lock:
            self._finishing = True
            self._granted = 0
            self._lock.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "a sender thread hangs"
        return self.sent()

    def _summary(self) -> str:
        replies: dict[int | None, int] = {}
        for sent in self._sent:
            replies[sent.reply] = replies.get(sent.reply, 0) + 1
        return f"{len(self._sent)} sent, by reply {replies}"

    def _take(self) -> bool:
        """A granted send, waiting for one; False once finishing."""
        with self._lock:
            while not self._granted and not self._finishing:
                self._lock.wait()
            if not self._granted:
                return False
            self._granted -= 1
            return True

    def _send_all(self, number: int) -> None:
        connections: dict[int, smtplib.SMTP] = {}
        count = 0
        try:
            while self._take():
                port = self._ports[(number + count) % len(self._ports)]
                subject = f"{self._label} {number}-{count}"
                count += 1
                began = time.monotonic()
                reply, error = _send(connections, port, subject)
                with self._lock:
                    self._sent.append(Sent(subject, port, reply, error, began, time.monotonic()))
                    self._lock.notify_all()
        finally:
            for smtp in connections.values():
                smtp.close()


def _send(connections: dict[int, smtplib.SMTP], port: int, subject: str) -> tuple[int | None, str]:
    """Send one message on ``port``'s connection (made if needed): the reply to DATA, or None
    and the error when the connection failed, in which case it is dropped."""
    try:
        smtp = connections.get(port)
        if smtp is None:
            smtp = connections[port] = smtplib.SMTP("127.0.0.1", port, timeout=SMTP_TIMEOUT)
        smtp.sendmail("app@example.com", ["ann@example.com"], MESSAGE.format(subject))
    except smtplib.SMTPResponseException as exc:
        # A refusal keeps the connection usable (smtplib sent RSET); 421 closes it.
        if exc.smtp_code == 421:
            connections.pop(port).close()
        return exc.smtp_code, str(exc)
    except OSError as exc:  # smtplib's SMTPServerDisconnected is one too
        dropped = connections.pop(port, None)
        if dropped is not None:
            dropped.close()
        return None, repr(exc)
    return 250, ""
