"""docs/search.md against the grammar: every operator, flag value, negation prefix, size unit
and limit the parser has."""

from __future__ import annotations

import string

import pytest
from markdown_doc import doc, find_section, names_in_code, table_rows

from mail_sandbox.store import SearchError, search

SEARCH_DOC = doc("search.md")


def operator_rows() -> dict[str, str]:
    """The operators table: each operator's name (``to`` for ``to:TEXT``) and its row."""
    rows = table_rows(find_section(SEARCH_DOC, "Operators").body)
    return {row[0].strip("`").split(":")[0]: row[0] for row in rows[1:]}


def test_every_operator_is_documented() -> None:
    operators = {name for name in search.KNOWN_FIELDS if name != "text"}
    missing = sorted(operators - set(operator_rows()))
    assert missing == [], f"operators missing from docs/search.md: {missing}"


@pytest.mark.parametrize("name", sorted(operator_rows()))
def test_every_documented_operator_is_one(name: str) -> None:
    # Written in upper case: the docs say operator names ignore case.
    [term] = search.parse_query(_example(name))
    assert term.field == name


def _example(name: str) -> str:
    values = {"after": "2024-05-31", "before": "2024-05-31", "larger": "2kb", "smaller": "2kb"}
    value = values.get(name) or sorted(search.FLAG_VALUES.get(name, {"abc"}))[0]
    return f"{name.upper()}:{value}"


@pytest.mark.parametrize(
    ("operator", "value"),
    sorted((op, value) for op, values in search.FLAG_VALUES.items() for value in values),
)
def test_every_flag_value_is_documented(operator: str, value: str) -> None:
    rows = table_rows(find_section(SEARCH_DOC, "Operators").body)
    assert any(row[0] == f"`{operator}:{value}`" for row in rows), f"{operator}:{value}"


def test_every_negation_prefix_is_documented() -> None:
    prefixes = [
        char for char in string.punctuation if search.parse_query(f"{char}teapot")[0].negated
    ]
    assert prefixes, "the grammar negates with some prefix"
    terms = find_section(SEARCH_DOC, "Terms").body
    assert all(names_in_code(terms, char) for char in prefixes), prefixes


def test_every_size_unit_is_documented() -> None:
    units = [unit for unit in search.SIZE_UNITS if unit]
    body = find_section(SEARCH_DOC, "Operators").body
    missing = [unit for unit in units if not names_in_code(body, unit)]
    assert missing == [], f"size units missing from docs/search.md: {missing}"
    for unit in units:
        assert search.parse_size(f"2{unit.upper()}") == 2 * search.SIZE_UNITS[unit]


@pytest.mark.parametrize(
    ("limit", "query"),
    [
        (search.MAX_QUERY_LENGTH, "x" * (search.MAX_QUERY_LENGTH + 1)),
        (search.MAX_TERMS, " ".join(f"word{n}" for n in range(search.MAX_TERMS + 1))),
        (search.MAX_SHORT_TERMS, " ".join(f"w{n}" for n in range(search.MAX_SHORT_TERMS + 1))),
    ],
)
def test_every_limit_is_documented_with_its_value(limit: int, query: str) -> None:
    limits = " ".join(find_section(SEARCH_DOC, "Limits").body.split())
    assert f"at most {limit} " in limits
    with pytest.raises(SearchError, match=f"at most {limit}"):
        search.parse_query(query)


def test_the_shortest_indexed_word_is_documented() -> None:
    shortest = search.MIN_INDEXED_LENGTH
    terms = " ".join(find_section(SEARCH_DOC, "Terms").body.split())
    assert f"A word of {shortest} or more characters" in terms
    assert f"A word of 1 or {shortest - 1} characters" in terms
