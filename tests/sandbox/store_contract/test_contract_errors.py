"""Queries the store cannot understand, hostile queries, and a closed store."""

from __future__ import annotations

import pytest
from contract_mail import WITHIN, add, message, page_ids
from hypothesis import given, settings
from hypothesis import strategies as st

from mail_sandbox.store import Page, SearchError, StoreError
from mail_sandbox.store.search import MAX_QUERY_LENGTH, MAX_SHORT_TERMS, MAX_TERMS

TOO_LONG = "abc" * (MAX_QUERY_LENGTH // 3 + 1)
TOO_MANY = " ".join(f"word{i}" for i in range(MAX_TERMS + 1))
TOO_MANY_SHORT = " ".join(f"-{chr(97 + i)}b" for i in range(MAX_SHORT_TERMS + 1))
REFUSED = {
    "too long": (TOO_LONG, f"at most {MAX_QUERY_LENGTH} are allowed"),
    "too many terms": (TOO_MANY, f"{MAX_TERMS + 1} terms; at most {MAX_TERMS}"),
    "too many short words": (TOO_MANY_SHORT, "shorter than 3 characters"),
    "not a size": ("larger:lots", "larger:lots"),
    "not a date": ("before:2024-13-45", "before:2024-13-45"),
    "not a flag": ("is:purple", "is:purple"),
    "no value": ("subject:", "subject:"),
}


@pytest.mark.parametrize(("query", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_query_that_cannot_be_understood_is_a_search_error_and_changes_nothing(
    store, query, says
):
    kept = add(store, message("word0 keep me"))

    with pytest.raises(SearchError, match=says):
        store.search(query)
    with pytest.raises(SearchError, match=says):
        store.search(query, after=kept)
    with pytest.raises(SearchError, match=says):
        store.delete_matching(query)
    with pytest.raises(SearchError, match=says):
        store.set_read_matching(query, True)
    assert page_ids(store.list()) == [kept]
    assert store.summary(kept).read is False


@pytest.mark.parametrize("query", ["", "   "], ids=["empty", "spaces"])
def test_a_change_by_search_needs_a_query(store, query):
    kept = add(store, message("keep me"))

    with pytest.raises(SearchError):
        store.delete_matching(query)
    with pytest.raises(SearchError):
        store.set_read_matching(query, True)
    assert page_ids(store.list()) == [kept]
    assert store.counts() == (1, 1)


def test_a_query_at_the_limits_is_answered(store):
    wanted = add(store, message("alpha bravo charlie delta echo foxtrot golf"))
    add(store, message("alpha bravo"))
    query = " ".join(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "-zulu"])
    assert len(query.split()) == MAX_TERMS

    assert page_ids(store.search(query)) == [wanted]
    # A term given twice counts once.
    assert page_ids(store.search(" ".join(["golf"] * (MAX_TERMS + 1)))) == [wanted]


OPERATORS = ["", "-", "!", "to:", "from:", "subject:", "tag:", "is:", "has:", "after:", '"']
HOSTILE = st.text(alphabet=st.sampled_from("\"*()%_'\\-!:^{}[]+ ;\x00aéK") | st.characters())


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPERATORS), HOSTILE), max_size=5))
def test_hostile_queries_give_a_page_or_a_search_error(sample, parts):
    query = " ".join(operator + text for operator, text in parts)
    try:
        page = sample.store.search(query)
    except SearchError as exc:
        assert str(exc)
    else:
        assert isinstance(page, Page)
        assert page.total == 3
        assert page.matched == len(page.messages) <= 3


def test_closed_store_refuses_work(store):
    kept = add(store, message("x"))
    store.close()

    with pytest.raises(StoreError, match="closed"):
        store.add(message("late"), "a@x.test", ["b@x.test"]).result(timeout=WITHIN)
    refused = [
        store.list,
        lambda: store.search("x"),
        lambda: store.summary(kept),
        lambda: store.raw(kept),
        store.latest_id,
        store.counts,
        store.all_tags,
        lambda: store.set_read(None, True),
        lambda: store.set_tags([kept], ["t"]),
        lambda: store.delete(None),
        lambda: store.delete_matching("x"),
    ]
    for call in refused:
        with pytest.raises(StoreError):
            call()


def test_closing_twice_is_harmless(store):
    add(store, message("x"))
    store.close()
    store.close()

    with pytest.raises(StoreError):
        store.list()
