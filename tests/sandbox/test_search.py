"""Mailpit's search grammar, parsed into terms (what each term finds in a store is tested in
``store_contract/test_contract_search.py``, against every kind of store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mail_sandbox.store import SearchError
from mail_sandbox.store.search import Term, parse_query


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


def test_lone_surrogates_and_nul_in_a_query_are_harmless():
    assert parse_query("caf\udce9 a\x00b") == [
        Term("text", "caf?"),
        Term("text", "a"),
        Term("text", "b"),
    ]


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
