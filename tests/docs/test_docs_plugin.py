"""docs/plugin.md against the pytest plugin: its fixtures and options as pytest reports them,
every public attribute of what the fixtures give, and every example run as a test module."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re

import pytest
from markdown_doc import code_blocks, doc, find_section, names_in_code, table_rows

from mail_sandbox.client import CapturedMessage
from mail_sandbox.pytest_plugin import MailSandbox

pytest_plugins = ["pytester"]

PLUGIN_DOC = doc("plugin.md")
PLUGIN_MODULE = "mail_sandbox.pytest_plugin"
_FIXTURE_LINE = re.compile(r"^(\w+)(?: \[(\w+) scope\])? -- ", re.MULTILINE)


def first_cells(title: str) -> dict[str, list[str]]:
    """The table of section ``title``, by the code in its first cell."""
    rows = table_rows(find_section(PLUGIN_DOC, title).lead)
    return {row[0].strip("`"): row for row in rows[1:]}


def test_every_fixture_is_documented_with_its_scope(pytester: pytest.Pytester) -> None:
    listing = pytester.runpytest_subprocess("--fixtures").stdout.str()
    _, found, ours = listing.partition(f" fixtures defined from {PLUGIN_MODULE} ")
    assert found, f"pytest --fixtures lists nothing from {PLUGIN_MODULE}"
    ours = ours.split("\n-", 1)[0]
    fixtures = {name: scope or "function" for name, scope in _FIXTURE_LINE.findall(ours)}
    assert fixtures, "the plugin defines fixtures"
    documented = {name: row[1] for name, row in first_cells("Fixtures").items()}
    assert documented == fixtures


def test_every_option_the_plugin_adds_is_documented(pytester: pytest.Pytester) -> None:
    def options(*args: str) -> set[str]:
        shown = pytester.runpytest_subprocess(*args, "--help").stdout.str()
        flags = re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", shown)
        ini = re.findall(r"^  ([\w-]+) \(", shown, re.MULTILINE)
        return {*flags, *ini}

    added = options() - options("-p", "no:mail_sandbox")
    section = find_section(PLUGIN_DOC, "Options").body
    missing = sorted(name for name in added if not names_in_code(section, name))
    assert missing == [], f"plugin options missing from docs/plugin.md: {missing}"


def signature(name: str, method: object) -> str:
    """``name(a, b=1, *, c=None)``, as the docs write a method."""
    parts = []
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        if parameter.default is parameter.empty:
            parts.append(parameter.name)
        else:
            parts.append(f"{parameter.name}={parameter.default!r}")
    return f"{name}({', '.join(parts)})"


def test_every_attribute_and_method_of_mail_sandbox_is_documented() -> None:
    sandbox = MailSandbox("127.0.0.1", 8025, "http://127.0.0.1:8026")
    public = [name for name in dir(sandbox) if not name.startswith("_")]
    documented = first_cells("MailSandbox")
    expected = {
        signature(name, getattr(sandbox, name)) if callable(getattr(sandbox, name)) else name
        for name in public
    }
    assert sorted(expected - set(documented)) == [], "MailSandbox members missing or changed"
    assert sorted(set(documented) - expected) == [], "docs/plugin.md names members that are gone"


def test_every_attribute_of_captured_message_is_documented() -> None:
    fields = {field.name for field in dataclasses.fields(CapturedMessage)}
    properties = {
        name for name, value in vars(CapturedMessage).items() if isinstance(value, property)
    }
    assert set(first_cells("CapturedMessage")) == fields | properties


EXAMPLES = code_blocks(PLUGIN_DOC, "python")


def test_the_examples_run(pytester: pytest.Pytester) -> None:
    tests = 0
    for number, example in enumerate(EXAMPLES):
        pytester.makepyfile(**{f"test_plugin_example_{number}": example})
        functions = [node for node in ast.parse(example).body if isinstance(node, ast.FunctionDef)]
        tests += sum(function.name.startswith("test_") for function in functions)
    assert tests >= len(EXAMPLES) >= 1

    result = pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(passed=tests)
