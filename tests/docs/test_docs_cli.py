"""docs/cli.md against the commands: every option ``--help`` shows, with the default the parser
has, and every exit status the commands give."""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_doc import doc, find_section, names_in_code, table_rows

from mail_sandbox import cli, cli_mailboxes, sendmail

CLI_DOC = doc("cli.md")
COMMANDS = {
    "mail-sandbox": ([], cli.build_parser),
    "mail-sandbox sendmail": (["sendmail"], sendmail.build_parser),
    "mail-sandbox mailboxes": (["mailboxes"], cli_mailboxes.build_parser),
}
# An entry of --help's lists, indented by two: "  --smtp HOST:PORT, -S HOST:PORT   the ...".
_HELP_ENTRY = re.compile(r"^  (?! )(.+?)(?: {2,}|$)", re.MULTILINE)


def run_command(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mail_sandbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def command_section(command: str, title: str) -> str:
    return find_section(CLI_DOC, command).subsection(title).body


def help_options(text: str) -> list[str]:
    """Every option and positional argument ``--help`` lists, each spelling apart."""
    _, _, listing = text.partition("\n\n")
    return [
        spelling.split()[0]
        for entry in _HELP_ENTRY.findall(listing)
        for spelling in entry.split(", ")
    ]


def option_rows(command: str) -> list[list[str]]:
    return [row for row in table_rows(command_section(command, "Options")) if len(row) == 3]


def row_naming(rows: list[list[str]], name: str) -> list[str] | None:
    return next((row for row in rows if names_in_code(row[0], name)), None)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_help_is_documented(command: str) -> None:
    prefix, _ = COMMANDS[command]
    shown = run_command(*prefix, "--help")
    assert shown.returncode == 0, shown.stderr
    options = help_options(shown.stdout)
    assert "-h" in options and "--help" in options
    rows = option_rows(command)
    missing = [name for name in options if row_naming(rows, name) is None]
    assert missing == [], f"{command}: options missing from docs/cli.md: {missing}"


def documented_default(action: argparse.Action) -> str:
    """How docs/cli.md writes the parser's default: a value in code, or "none"/"off"."""
    if action.nargs == 0 and action.const is True:  # store_true
        return "off"
    if action.default is None or action.default == []:
        return "none"
    if isinstance(action.default, float):
        return f"{action.default:g}"
    return str(action.default)


def actions(command: str) -> list[argparse.Action]:
    _, build_parser = COMMANDS[command]
    return [
        action
        for action in build_parser()._actions
        if action.default is not argparse.SUPPRESS and action.dest != "db"
    ]


@pytest.mark.parametrize(
    ("command", "action"),
    [(command, action) for command in COMMANDS for action in actions(command)],
    ids=lambda value: value if isinstance(value, str) else "/".join(value.option_strings or ["-"]),
)
def test_every_default_is_the_parsers(command: str, action: argparse.Action) -> None:
    names = action.option_strings or [action.metavar]
    row = row_naming(option_rows(command), names[0])
    assert row is not None, f"{command}: {names[0]} is not documented"
    for name in names:
        written = f"{name} {action.metavar}" if action.metavar and action.option_strings else name
        assert names_in_code(row[0], written), f"{command}: the row of {names[0]} lacks {written}"
    default = documented_default(action)
    if default in ("none", "off"):
        assert row[1].startswith(default), f"{command} {names[0]}: default should be {default}"
    else:
        assert names_in_code(row[1], default), f"{command} {names[0]}: default {default}"


def test_the_default_mailbox_file_is_documented(monkeypatch, tmp_path: Path) -> None:
    row = row_naming(option_rows("mail-sandbox"), "--db")
    assert row is not None
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert cli.default_db_path() == tmp_path / "data" / "mail-sandbox" / "messages.sqlite3"
    assert names_in_code(row[1], "$XDG_DATA_HOME/mail-sandbox/messages.sqlite3")
    monkeypatch.delenv("XDG_DATA_HOME")
    relative = cli.default_db_path().relative_to(tmp_path)
    assert names_in_code(row[1], f"~/{relative}")


def test_the_environment_variable_is_documented() -> None:
    row = row_naming(option_rows("mail-sandbox"), "--ui-auth")
    assert row is not None and f"${cli.UI_AUTH_ENV}" in row[1]


def returned_statuses(module: object) -> set[int]:
    """Whole numbers a module's functions return as they stand, and the ``EX_*`` constants it
    uses: the exit statuses written into its code."""
    tree = ast.parse(inspect.getsource(module))
    statuses = set()
    for node in ast.walk(tree):
        value = node.value if isinstance(node, ast.Return) else None
        if isinstance(value, ast.Constant) and type(value.value) is int:
            statuses.add(value.value)
        loaded = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        if loaded and node.id.startswith("EX_"):
            statuses.add(getattr(module, node.id))
    return statuses


def documented_statuses(command: str) -> dict[int, list[str]]:
    rows = table_rows(command_section(command, "Exit status"))
    return {int(row[0]): row for row in rows if row[0].isdigit()}


@pytest.mark.parametrize(
    ("command", "module"),
    [
        ("mail-sandbox", cli),
        ("mail-sandbox sendmail", sendmail),
        ("mail-sandbox mailboxes", cli_mailboxes),
    ],
)
def test_every_exit_status_is_documented(command: str, module: object) -> None:
    prefix, _ = COMMANDS[command]
    bad_command_line = run_command(*prefix, "--no-such-option").returncode
    statuses = returned_statuses(module) | {bad_command_line}
    documented = documented_statuses(command)
    assert sorted(documented) == sorted(statuses), f"{command}: exit statuses"
    for name in (name for name in vars(module) if name.startswith("EX_")):
        if getattr(module, name) in documented:
            assert names_in_code(documented[getattr(module, name)][1], name)
