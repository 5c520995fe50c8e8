"""The README and docs/ as a whole: the commands they name exist, their links lead somewhere in
this repository, the plugin example stands alone, and every setting of the app is listed."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from markdown_doc import (
    DOCS,
    README,
    ROOT,
    anchors,
    code_blocks,
    doc,
    find_section,
    links,
    names_in_code,
    table_rows,
)

DOCUMENTS = [README, ROOT / "sandbox" / "README.md", *sorted(DOCS.glob("*.md"))]
_NOX_SESSION = re.compile(r"nox -s ([\w-]+)")


def nox_sessions() -> set[str]:
    """The sessions ``noxfile.py`` defines: functions decorated with ``@nox.session``."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if ast.unparse(call) == "nox.session":
                named = [k.value for k in getattr(decorator, "keywords", []) if k.arg == "name"]
                sessions.add(named[0].value if named else node.name)
    return sessions


def test_the_commands_table_names_every_nox_session_and_no_other() -> None:
    rows = table_rows(find_section(README.read_text(encoding="utf-8"), "Commands").body)
    listed = {match for row in rows for match in _NOX_SESSION.findall(row[0])}
    assert listed == nox_sessions()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_nox_session_named_exists(path: Path) -> None:
    named = set(_NOX_SESSION.findall(path.read_text(encoding="utf-8")))
    assert sorted(named - nox_sessions()) == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_leads_into_this_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in links(text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.is_relative_to(ROOT), f"{target} leads out of the repository"
        assert linked.exists(), f"{target}: no such file"
        if anchor:
            assert anchor in anchors(linked.read_text(encoding="utf-8")), f"{target}: no anchor"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_document_names_a_file_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text
    assert re.search(r"\bSPEC(\.md)?\b", text) is None
    # A relative path climbing out of the checkout, in a link or in code.
    depth = len(path.parent.relative_to(ROOT).parts)
    assert re.search(rf"(\.\./){{{depth + 1},}}", text) is None


def plugin_section() -> str:
    return find_section(README.read_text(encoding="utf-8"), "The pytest plugin").body


def test_the_plugin_section_says_how_to_install_it() -> None:
    section = " ".join(plugin_section().split())
    assert names_in_code(section, "pip install ./sandbox")
    git = re.search(r'`pip install "mail-sandbox @ git\+https://([^"`]+)#([^"`]+)"`', section)
    assert git, "the git URL form of the install"
    assert git.groups() == ("<host>/<owner>/<repo>.git", "subdirectory=sandbox")


def test_the_plugin_example_is_the_sections_first_block_and_stands_alone() -> None:
    section = plugin_section()
    first_fence = re.search(r"^```(\w*)$", section, re.MULTILINE)
    assert first_fence and first_fence.group(1) == "python"
    [example, *_] = code_blocks(section, "python")
    tree = ast.parse(example)
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
        )
    }
    assert imported <= set(sys.stdlib_module_names) | {"pytest"}, imported
    assert "smtplib" in imported and ".wait_for(" in example
    assert re.search(r"\.smtp_host\b", example) and re.search(r"\.smtp_port\b", example)


def app_settings() -> set[str]:
    """Environment variables the app reads: the first argument of every ``os.environ.get`` and
    of ``app.config``'s readers."""
    readers = {"os.environ.get", "_text", "_flag", "_number", "_list"}
    names = set()
    for source in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) in readers
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def test_every_setting_of_the_app_is_documented() -> None:
    settings = find_section(doc("app.md"), "Settings").body
    rows = table_rows(settings)
    settings_names = app_settings()
    assert "SECRET_KEY" in settings_names
    missing = sorted(
        name for name in settings_names if not any(names_in_code(row[0], name) for row in rows)
    )
    assert missing == [], f"settings missing from docs/app.md: {missing}"
