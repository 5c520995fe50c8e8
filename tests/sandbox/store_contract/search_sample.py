"""A mailbox of three known messages, received in order, for the search contract tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

from contract_mail import WITHIN

from mail_sandbox.store import MessageStore

NAMES = ("report", "lunch", "order")


def report_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice Smith <alice@example.com>"
    msg["To"] = "bob@example.org"
    msg["Cc"] = "Carol <carol@example.net>"
    msg["Reply-To"] = "replies@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Message-ID"] = "<q1-report@example.com>"
    msg["X-Tags"] = "finance, Urgent"
    msg.set_content("The numbers are up this quarter.")
    msg.add_attachment(b"x" * 100, maintype="application", subtype="pdf", filename="q.pdf")
    return msg.as_bytes()


def lunch_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Bob <bob@example.org>"
    msg["To"] = "alice@example.com"
    msg["Subject"] = "Lunch on Friday? Grüße aus Köln"
    msg.set_content("Pizza or sushi?")
    msg.add_alternative("<p>Pizza or sushi? <img src='cid:menu'></p>", subtype="html")
    msg.get_payload()[1].add_related(b"GIF89a", "image", "gif", cid="<menu>")
    return msg.as_bytes()


def order_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "noreply@shop.test"
    msg["To"] = "alice@example.com"
    msg["Subject"] = "Your order 42"
    msg.set_content("Thanks for shopping 100% with us.\n" + "Line of the receipt.\n" * 300)
    return msg.as_bytes()


@dataclass
class Sample:
    """Report (tagged, attachment, Bcc dave), lunch (read, inline image), order (over 4 kB),
    received in that order, each at least a millisecond after the one before."""

    store: MessageStore
    ids: dict[str, str]  # name -> ID
    received: dict[str, datetime]  # name -> received time, UTC

    def find(self, query: str, **kwargs: object) -> list[str]:
        """Names of the messages ``query`` matches, newest first."""
        names = {message_id: name for name, message_id in self.ids.items()}
        return [names[s.id] for s in self.store.search(query, limit=100, **kwargs).messages]

    def times(self) -> dict[str, str]:
        """Moments to put in ``after:``/``before:`` queries, by name."""
        first_day = self.received["report"].date()
        last_day = self.received["order"].date()
        lunch_east = self.received["lunch"].astimezone(timezone(timedelta(hours=2)))
        return {
            **{name: moment.isoformat() for name, moment in self.received.items()},
            "lunch_zulu": self.received["lunch"].isoformat().replace("+00:00", "Z"),
            "lunch_east": lunch_east.isoformat(),
            "lunch_naive": self.received["lunch"].replace(tzinfo=None).isoformat(),
            "first_day": first_day.isoformat(),
            "after_last_day": (last_day + timedelta(days=1)).isoformat(),
        }


def fill(store: MessageStore) -> Sample:
    arrivals = [
        ("report", report_message(), "alice@example.com", ["bob@example.org", "dave@hidden.test"]),
        ("lunch", lunch_message(), "bob@example.org", ["alice@example.com"]),
        ("order", order_message(), "noreply@shop.test", ["alice@example.com"]),
    ]
    ids: dict[str, str] = {}
    received: dict[str, datetime] = {}
    for name, raw, sender, recipients in arrivals:
        if received:
            _wait_for_the_clock_to_pass(max(received.values()))
        ids[name] = store.add(raw, sender, recipients).result(timeout=WITHIN)
        created = store.summary(ids[name]).created
        assert created is not None and created.tzinfo is not None
        received[name] = created
    assert received["report"] < received["lunch"] < received["order"]
    store.set_read([ids["lunch"]], True)
    return Sample(store, ids, received)


def _wait_for_the_clock_to_pass(moment: datetime) -> None:
    """Return once a message received now gets a later time than ``moment`` (to the ms)."""
    later = moment + timedelta(milliseconds=1)
    while datetime.now(UTC) < later:
        pass
