"""Mailpit's search grammar: parsing, and what each operator finds in a real store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.store import Page, SearchError, SQLiteStore
from mail_sandbox.store.search import Term, parse_query


def at(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 time."""
    return datetime.fromisoformat(text).timestamp()


@dataclass
class Sample:
    """A store holding three known messages, and their IDs."""

    store: SQLiteStore
    report: str
    lunch: str
    order: str

    def find(self, query: str) -> list[str]:
        """IDs the query matches, as names (report, lunch, order), newest first."""
        names = {self.report: "report", self.lunch: "lunch", self.order: "order"}
        return [names[s.id] for s in self.store.search(query, limit=100).messages]


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


@pytest.fixture
def sample() -> Iterator[Sample]:
    """Report (2024-01-01, tagged, attachment), lunch (01-02, read, inline), order (01-03, big)."""
    times = iter(
        [at("2024-01-01T12:00:00Z"), at("2024-01-02T12:00:00Z"), at("2024-01-03T12:00:00Z")]
    )
    store = SQLiteStore(":memory:", clock=lambda: next(times))
    try:
        report = store.add(
            report_message(), "alice@example.com", ["bob@example.org", "dave@hidden.test"]
        ).result(timeout=10)
        lunch = store.add(lunch_message(), "bob@example.org", ["alice@example.com"]).result(10)
        order = store.add(order_message(), "noreply@shop.test", ["alice@example.com"]).result(10)
        store.set_read([lunch], True)
        yield Sample(store, report, lunch, order)
    finally:
        store.close()


# -- parsing ---------------------------------------------------------------------------------


def test_parse_query_reads_fields_negation_and_quotes():
    terms = parse_query('hello "two words" -from:alice !subject:"big news" TO:Bob is:UNREAD')

    assert terms == [
        Term("text", "hello"),
        Term("text", "two words"),
        Term("from", "alice", negated=True),
        Term("subject", "big news", negated=True),
        Term("to", "Bob"),
        Term("is", "unread"),
    ]


def test_parse_query_converts_dates_and_sizes():
    terms = parse_query(
        "after:2024-05-31 before:2024-06-01T10:30:00+02:00 larger:2kb smaller:1.5MB larger:300"
    )

    assert [t.value for t in terms] == [
        datetime(2024, 5, 31, tzinfo=UTC),
        datetime(2024, 6, 1, 8, 30, tzinfo=UTC),
        2048,
        int(1.5 * 1024 * 1024),
        300,
    ]


def test_unknown_operator_and_unclosed_quote_are_plain_text():
    assert parse_query('http://example.com "open phrase') == [
        Term("text", "http://example.com"),
        Term("text", "open phrase"),
    ]


def test_lone_surrogates_and_nul_in_a_query_are_harmless(sample):
    assert parse_query("caf\udce9 a\x00b") == [
        Term("text", "caf?"),
        Term("text", "a"),
        Term("text", "b"),
    ]
    assert sample.store.search("\ud800report\x00").matched == 0


def test_empty_query_has_no_terms():
    assert parse_query("   ") == []


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("larger:lots", "larger:lots"),
        ("smaller:12parsecs", "smaller:12parsecs"),
        ("after:someday", "after:someday"),
        ("before:2024-13-45", "before:2024-13-45"),
        ("is:purple", "is:purple"),
        ("has:nothing", "has:nothing"),
        ("subject:", "subject:"),
        ('to:""', "to:"),
    ],
)
def test_bad_values_raise_search_error_naming_the_term(query, complaint):
    with pytest.raises(SearchError, match=complaint):
        parse_query(query)


# -- searching a store -----------------------------------------------------------------------


def test_empty_query_lists_everything(sample):
    page = sample.store.search("")

    assert sample.find("") == ["order", "lunch", "report"]
    assert (page.total, page.unread, page.matched, page.matched_unread) == (3, 2, 3, 2)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("quarterly", ["report"]),
        ("QUARTERLY", ["report"]),
        ("sushi", ["lunch"]),
        ("KÖLN", ["lunch"]),
        ("receipt", ["order"]),
        ("pizza sushi", ["lunch"]),
        ("sushi numbers", []),
        ('"or sushi"', ["lunch"]),
        ('"sushi or"', []),
        ("finance", ["report"]),
    ],
)
def test_free_words_and_phrases_match_subject_and_body(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:alice", ["report"]),
        ("from:example.org", ["lunch"]),
        ("to:example.com", ["order", "lunch"]),
        ("to:bob", ["report"]),
        ("cc:carol", ["report"]),
        ("cc:example.net", ["report"]),
        ("bcc:dave@hidden", ["report"]),
        ("reply-to:replies", ["report"]),
        ("addressed:carol", ["report"]),
        ("addressed:alice", ["order", "lunch", "report"]),
        ("addressed:shop.test", ["order"]),
        ("example.org", ["lunch", "report"]),
    ],
)
def test_address_operators_match_substrings_of_names_and_addresses(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('subject:"order 42"', ["order"]),
        ("subject:alice", []),
        ("message-id:q1-report", ["report"]),
        ("tag:urgent", ["report"]),
        ("tag:FINANCE", ["report"]),
        ("tag:fin", []),
        ("is:tagged", ["report"]),
        ("is:read", ["lunch"]),
        ("is:unread", ["order", "report"]),
        ("has:attachment", ["report"]),
        ("has:inline", ["lunch"]),
    ],
)
def test_field_and_flag_operators(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("-from:alice", ["order", "lunch"]),
        ("!subject:lunch", ["order", "report"]),
        ('-"order 42"', ["lunch", "report"]),
        ("-is:tagged", ["order", "lunch"]),
        ("-has:attachment -has:inline", ["order"]),
        ("example -sushi", ["order", "report"]),
        ("-42", ["lunch", "report"]),
    ],
)
def test_negation_excludes_matches(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("to:bo", ["report"]),
        ("42", ["order"]),
        ("Q1", ["report"]),
        ("%", ["order"]),
        ("_", []),
        ("\\", []),
    ],
)
def test_short_terms_match_summary_fields_with_wildcards_taken_literally(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("after:2024-01-02", ["order", "lunch"]),
        ("before:2024-01-02", ["report"]),
        ("after:2024-01-02T13:00:00Z", ["order"]),
        # 14:00 at +02:00 is 12:00 UTC, when lunch arrived: "after" is strictly later.
        ("after:2024-01-02T14:00:00+02:00", ["order"]),
        ("after:2024-01-01 before:2024-01-03", ["lunch", "report"]),
        ("-after:2024-01-02", ["report"]),
    ],
)
def test_after_and_before_compare_received_time_in_utc(sample, query, expected):
    assert sample.find(query) == expected


def test_larger_and_smaller_compare_size(sample):
    order_size = sample.store.summary(sample.order).size
    report_size = sample.store.summary(sample.report).size

    assert order_size > 4096 > report_size
    assert sample.find("larger:4kb") == ["order"]
    assert sample.find("smaller:4KB") == ["lunch", "report"]
    assert sample.find(f"larger:{order_size - 1}") == ["order"]
    assert sample.find(f"smaller:{order_size}") == ["lunch", "report"]
    assert sample.find("larger:1.5MB") == []


def test_search_counts_matches_and_pages_through_them(sample):
    page = sample.store.search("example.org", start=1, limit=1)

    assert [s.id for s in page.messages] == [sample.report]
    assert (page.total, page.unread, page.matched, page.matched_unread, page.start) == (
        3,
        2,
        2,
        1,
        1,
    )


def test_search_after_an_id_finds_only_later_messages(sample):
    assert [s.id for s in sample.store.search("alice", after=sample.report).messages] == [
        sample.order,
        sample.lunch,
    ]
    with pytest.raises(KeyError):
        sample.store.search("alice", after="no-such-id")


def test_search_error_comes_from_the_store_too(sample):
    with pytest.raises(SearchError):
        sample.store.search("larger:lots")


OPERATORS = ["", "-", "!", "to:", "from:", "subject:", "tag:", "is:", "has:", "after:", '"']
HOSTILE = st.text(alphabet=st.sampled_from("\"*()%_'\\-!:^{}[]+ ;\x00aéK") | st.characters())


@settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(st.sampled_from(OPERATORS), HOSTILE), max_size=5))
def test_hostile_queries_give_a_page_or_a_search_error(sample, parts):
    query = " ".join(operator + text for operator, text in parts)
    try:
        page = sample.store.search(query)
    except SearchError as exc:
        assert str(exc)
    else:
        assert isinstance(page, Page)
        assert page.matched <= page.total == 3
