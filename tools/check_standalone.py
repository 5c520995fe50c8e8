"""Check that mail-sandbox installs and works alone, as another project would use it.

Run by ``nox -s standalone`` in a virtualenv that holds only ``pip install ./sandbox`` and
pytest-xdist. It fails (exit status 1, one line per problem) when that install brought Flask or
a top-level ``app`` or ``sandbox`` module along, or when the README's pytest plugin example does
not pass, with and without ``-n 2``, inside a project that has its own ``app/`` and ``sandbox/``
packages and its tests under ``tests/``, whose imports must find the project's own.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PLUGIN_HEADING = "## The pytest plugin"
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: What the project's own packages hold, so its tests can tell them from anything else.
OWN_PACKAGES = {
    "app/__init__.py": 'OWNER = "the project under test"\n',
    "sandbox/__init__.py": 'OWNER = "the project under test"\n',
}
OWN_PACKAGES_TEST = textwrap.dedent(
    """
    import app
    import sandbox


    def test_imports_find_this_projects_own_packages():
        assert app.OWNER == sandbox.OWNER == "the project under test"
    """
)
#: Distributions of the Microblog app that must not come with the capture server.
APP_ONLY = ("flask", "flask-login", "flask-wtf", "flask-mail", "flask-sqlalchemy", "pyjwt")


def readme_plugin_example(readme: str) -> str:
    """The first ``python`` block of the README's pytest plugin section."""
    _, found, section = readme.partition(PLUGIN_HEADING + "\n")
    if not found:
        raise LookupError(f"README.md has no {PLUGIN_HEADING!r} section")
    section = section.split("\n## ", 1)[0]
    block = _PYTHON_BLOCK.search(section)
    if block is None:
        raise LookupError(f"README.md's {PLUGIN_HEADING!r} section has no python example")
    return block.group(1)


def install_problems() -> list[str]:
    """What ``pip install ./sandbox`` put into this environment that it should not have."""
    problems = []
    installed = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    problems += [f"{name} is installed" for name in APP_ONLY if name in installed]
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for name in ("app", "sandbox"):
        if (site_packages / name).exists() or (site_packages / f"{name}.py").exists():
            problems.append(f"site-packages holds a top-level {name!r}")
    return problems


def make_project(folder: Path, example: str) -> None:
    """A project with its own ``app`` and ``sandbox`` packages and the example under tests/."""
    for relative, text in OWN_PACKAGES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    tests = folder / "tests"
    tests.mkdir()
    (tests / "test_readme_example.py").write_text(example)
    (tests / "test_own_packages.py").write_text(OWN_PACKAGES_TEST)
    # As pytest's docs recommend for a project not installed: the root on sys.path.
    (folder / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')


def run_tests(folder: Path, *extra: str) -> str | None:
    """Run the project's tests; a problem line when they do not all pass."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    result = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    print(result.stdout[-2000:], end="")
    if result.returncode != 0:
        return f"{' '.join(command[2:])} failed in a project with its own app/ and sandbox/"
    return None


def main() -> int:
    problems = install_problems()
    example = readme_plugin_example(README.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="mail-sandbox-standalone-") as tmp:
        project = Path(tmp)
        make_project(project, example)
        for extra in ((), ("-n", "2")):
            problem = run_tests(project, *extra)
            if problem:
                problems.append(problem)
    for problem in problems:
        print(f"standalone: {problem}", file=sys.stderr)
    if not problems:
        print("standalone: mail-sandbox installs alone and the README's plugin example passes")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
