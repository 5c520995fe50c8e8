"""What each part of the search grammar finds, in the three messages of ``search_sample``.

These tests only read: they share one sample mailbox per backend.
"""

from __future__ import annotations

import pytest


def test_empty_query_lists_everything(sample):
    page = sample.store.search("")

    assert sample.find("") == ["order", "lunch", "report"]
    assert sample.find("   ") == ["order", "lunch", "report"]
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
        ('"open phrase', []),
        ('"Pizza or', ["lunch"]),
        ("finance", ["report"]),
        ("http://example.com", []),
    ],
)
def test_free_words_and_phrases_match_subject_and_body(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:alice", ["report"]),
        ("FROM:Alice", ["report"]),
        ("from:example.org", ["lunch"]),
        ("to:example.com", ["order", "lunch"]),
        ("to:bob", ["report"]),
        ("cc:carol", ["report"]),
        ("cc:example.net", ["report"]),
        ("bcc:dave@hidden", ["report"]),
        ("bcc:dave@hidden.test", ["report"]),
        ("to:alice@example.com", ["order", "lunch"]),
        ("to:lice@example.co", ["order", "lunch"]),
        ("TO:ALICE@EXAMPLE.COM", ["order", "lunch"]),
        ("to:bob@example.com", []),
        ("from:alice@example.com", ["report"]),
        ("cc:carol@example.net", ["report"]),
        ("alice@example.com", ["order", "lunch", "report"]),
        ("bcc:bob", []),
        ("reply-to:replies", ["report"]),
        ("addressed:carol", ["report"]),
        ("addressed:alice", ["order", "lunch", "report"]),
        ("addressed:shop.test", ["order"]),
        ("example.org", ["lunch", "report"]),
        ('from:"Alice Smith"', ["report"]),
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
        ("message-id:lunch", []),
        ("tag:urgent", ["report"]),
        ("tag:FINANCE", ["report"]),
        ("tag:fin", []),
        ("is:tagged", ["report"]),
        ("is:read", ["lunch"]),
        ("is:unread", ["order", "report"]),
        ("IS:Unread", ["order", "report"]),
        ("has:attachment", ["report"]),
        ("has:attachments", ["report"]),
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
        ('-subject:"order 42"', ["lunch", "report"]),
        ("-is:tagged", ["order", "lunch"]),
        ("-is:read", ["order", "report"]),
        ("-tag:urgent", ["order", "lunch"]),
        ("-has:attachment -has:inline", ["order"]),
        ("example -sushi", ["order", "report"]),
        ("-42", ["lunch", "report"]),
        ("-pizza -receipt", ["report"]),
        # A lone "-" negates nothing: it is a word, found in the report's Message-ID.
        ("-", ["report"]),
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
        ("-42 Q1", ["report"]),
    ],
)
def test_short_terms_match_summary_fields_with_wildcards_taken_literally(sample, query, expected):
    assert sample.find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # "after" and "before" are strict: a message is neither after nor before its own time.
        ("after:{report}", ["order", "lunch"]),
        ("after:{lunch}", ["order"]),
        ("before:{lunch}", ["report"]),
        ("before:{report}", []),
        ("after:{report} before:{order}", ["lunch"]),
        ("-after:{report}", ["report"]),
        ("-before:{order}", ["order"]),
        # The same moment written as Z, at +02:00, and without a zone (taken as UTC).
        ("after:{lunch_zulu}", ["order"]),
        ("after:{lunch_east}", ["order"]),
        ("before:{lunch_east}", ["report"]),
        ("after:{lunch_naive}", ["order"]),
        # A bare day is midnight UTC.
        ("after:{first_day}", ["order", "lunch", "report"]),
        ("before:{first_day}", []),
        ("before:{after_last_day}", ["order", "lunch", "report"]),
        ("after:{after_last_day}", []),
    ],
)
def test_after_and_before_compare_received_time_in_utc(sample, query, expected):
    assert sample.find(query.format(**sample.times())) == expected


def test_larger_and_smaller_compare_size(sample):
    order_size = sample.store.summary(sample.ids["order"]).size
    report_size = sample.store.summary(sample.ids["report"]).size

    assert order_size > 4096 > report_size
    assert sample.find("larger:4kb") == ["order"]
    assert sample.find("smaller:4KB") == ["lunch", "report"]
    assert sample.find(f"larger:{order_size - 1}") == ["order"]
    assert sample.find(f"larger:{order_size}") == []
    assert sample.find(f"smaller:{order_size}") == ["lunch", "report"]
    assert sample.find(f"smaller:{order_size + 1}") == ["order", "lunch", "report"]
    assert sample.find(f"-larger:{order_size - 1}") == ["lunch", "report"]
    assert sample.find("larger:1.5MB") == []
    assert sample.find("smaller:1GiB") == ["order", "lunch", "report"]
    assert sample.find("larger:" + "9" * 40 + "gb") == []


def test_terms_combine_with_and(sample):
    assert sample.find("to:alice has:inline") == ["lunch"]
    assert sample.find("to:alice is:unread") == ["order"]
    assert sample.find("is:unread has:inline") == []
    assert sample.find("larger:4kb from:noreply subject:order") == ["order"]


def test_search_counts_matches_and_pages_through_them(sample):
    page = sample.store.search("example.org", start=1, limit=1)

    assert [s.id for s in page.messages] == [sample.ids["report"]]
    assert (page.total, page.unread, page.matched, page.matched_unread, page.start) == (
        3,
        2,
        2,
        1,
        1,
    )
    assert sample.store.search("example.org", start=2).messages == []
    nothing = sample.store.search("zeppelin")
    assert (nothing.total, nothing.unread, nothing.matched, nothing.matched_unread) == (3, 2, 0, 0)


def test_search_after_an_id_finds_only_later_messages(sample):
    assert sample.find("alice", after=sample.ids["report"]) == ["order", "lunch"]
    page = sample.store.search("alice", after=sample.ids["report"])
    assert (page.total, page.matched, page.matched_unread) == (3, 2, 1)
    assert sample.find("alice", after=sample.ids["order"]) == []
    with pytest.raises(KeyError):
        sample.store.search("alice", after="no-such-id")


def test_lone_surrogates_and_nul_in_a_query_are_harmless(sample):
    assert sample.find("\ud800report\x00") == []
    assert sample.find("quarter\x00report") == ["report"]
    assert sample.find("caf\udce9") == []
