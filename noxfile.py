"""Developer and CI commands: `nox -s sandbox`, `tests`, `e2e`, `standalone`, `lint`, `bench`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


# The capture server is its own distribution; one pip call installs both, so the app's dependency
# on ``mail-sandbox`` is met by this checkout's and never looked up on an index.
CAPTURE_SERVER = ("-e", "./sandbox")


def install_project(session: nox.Session) -> None:
    """Install both projects (editable, so the pytest plugin's entry point is registered)."""
    session.install(*CAPTURE_SERVER, "-e", ".[test]")


def ensure_browser(session: nox.Session) -> None:
    """Find Chromium for the browser tests, or install Playwright's; fail with one clear line."""
    session.run("python", "tools/browser.py", "--ensure")


def ensure_postgres(session: nox.Session) -> None:
    """Find PostgreSQL for the shared-store tests (installing Debian's package as root), or
    fail with one clear line."""
    session.run("python", "tools/postgres_cluster.py", "--ensure")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Every test: unit, integration and the browser end-to-end tests."""
    install_project(session)
    ensure_browser(session)
    ensure_postgres(session)
    session.run("pytest", *session.posargs)
    if not session.posargs:
        # The whole suite also means the capture server still installs and works alone.
        session.notify("standalone")


@nox.session(python=PYTHON, reuse_venv=False)
def standalone(session: nox.Session) -> None:
    """mail-sandbox alone in a new virtualenv, as another project installs it: no Flask comes
    along, and the README's plugin example passes beside the project's own app/ and sandbox/."""
    session.install("./sandbox", "pytest-xdist")
    session.run("python", "tools/check_standalone.py")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """The browser end-to-end tests alone (``nox -s e2e -- --headed`` shows the browser)."""
    install_project(session)
    ensure_browser(session)
    session.run("pytest", "e2e", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff's checks and its formatting, as CI expects them."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def sandbox(session: nox.Session) -> None:
    """The app, the capture server and its inbox together, until Ctrl-C.

    Ports: ``nox -s sandbox -- --app-port 5001 --smtp-port 2525 --http-port 8080``.
    """
    install_project(session)
    # On Ctrl-C nox would kill the runner within half a second, in the middle of stopping its
    # servers, and a server slow to stop would be left running. The runner bounds its own stop
    # (SIGKILL after a grace period), so nox waits for it.
    session.run("python", "tools/run_sandbox.py", *session.posargs, interrupt_timeout=None)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Measure the capture server against plain aiosmtpd, in rounds; print one table (~4 min).

    ``nox -s bench -- --quick`` is a smoke run under a minute; the table is also written to
    ``benchmarks/results/latest.json``.
    """
    session.install(*CAPTURE_SERVER, "-e", ".")
    session.run("python", "-m", "benchmarks", *session.posargs)
