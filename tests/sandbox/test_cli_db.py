"""``mail-sandbox --db`` naming something that is not a mailbox: one line, exit status 2, and the
thing named left exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from mail_sandbox.store.sqlite.schema import SCHEMA_VERSION


def run_mail_sandbox(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        + ["--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def a_directory(tmp_path: Path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    (path / "notes.txt").write_text("keep me\n")
    return path


def a_text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not a mailbox.\n" * 200)
    return path


def another_programs_database(tmp_path: Path) -> Path:
    path = tmp_path / "app.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('susan')")
        conn.commit()
    return path


def a_mailbox_from_a_newer_version(tmp_path: Path) -> Path:
    path = tmp_path / "future.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    return path


def inside_a_file(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("a file, not a folder\n")
    return tmp_path / "plain" / "mail.db"


NOT_A_MAILBOX: dict[str, Callable[[Path], Path]] = {
    "directory": a_directory,
    "text-file": a_text_file,
    "another-programs-database": another_programs_database,
    "newer-version": a_mailbox_from_a_newer_version,
    "inside-a-file": inside_a_file,
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a directory)."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize("make", NOT_A_MAILBOX.values(), ids=NOT_A_MAILBOX.keys())
def test_db_that_is_not_a_mailbox_gets_one_line_and_exit_2_and_stays_untouched(tmp_path, make):
    db = make(tmp_path)
    before = snapshot(tmp_path)

    result = run_mail_sandbox(db)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mail-sandbox: ") and str(db) in lines[0]
    assert "SMTP on" not in result.stdout
    assert snapshot(tmp_path) == before
