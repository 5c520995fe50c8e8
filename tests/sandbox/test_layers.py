"""The capture server's layers import downwards only, and none of it imports the Microblog app.

Other projects install ``mail_sandbox`` alone: an import of ``app`` or Flask would fail there.
A store or parser that imported the web layer or the API client could not be used (or tested)
without them, and a second store backend would inherit the web's dependencies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mail_sandbox

PACKAGE = Path(mail_sandbox.__file__).parent
#: Modules below the web: they may not import the web, the server, the CLI or the client.
LOWER_LAYERS = (
    "store",
    "mime",
    "tags",
    "smtp",
    "smtp_data",
    "smtp_routing",
    "mailboxes",
    "links",
    "endpoints",
    "defaults",
    "message_limits",
)
ABOVE = ("mail_sandbox.web", "mail_sandbox.server", "mail_sandbox.cli", "mail_sandbox.client")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules_of(*names: str) -> list[Path]:
    paths = []
    for name in names:
        folder = PACKAGE / name
        paths += sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{name}.py"]
    return paths


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_imports_the_app_or_flask(path: Path) -> None:
    imports = imported_modules(path)
    assert not {m for m in imports if m.split(".")[0] in ("app", "flask", "sandbox")}


@pytest.mark.parametrize(
    "path", modules_of(*LOWER_LAYERS), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_lower_layers_do_not_import_the_web_or_the_client(path: Path) -> None:
    imports = imported_modules(path)
    assert not {m for m in imports if m.startswith(ABOVE)}


def test_the_checks_see_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from mail_sandbox.web.keys import STORE\n    import flask\n")
    assert {"mail_sandbox.web.keys", "flask"} <= imported_modules(module)
