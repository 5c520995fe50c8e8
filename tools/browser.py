"""Find the Chromium the browser tests drive, in the order docs/development.md gives:

1. ``CHROMIUM_PATH`` when set; 2. Playwright's own Chromium when installed; 3. a system
``chromium`` / ``chromium-browser`` on PATH. ``python tools/browser.py --ensure`` (run by nox
before the tests) installs Playwright's Chromium when none of them exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HOW_TO_GET_ONE = (
    "No Chromium for the browser tests: run `playwright install chromium`, install your "
    "system's chromium package (Debian: `apt-get install chromium`), or set CHROMIUM_PATH."
)


class NoBrowserError(RuntimeError):
    """No Chromium is available to drive."""


def playwright_chromium() -> Path | None:
    """Playwright's own Chromium, when it has been installed (``playwright install``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = Path(playwright.chromium.executable_path)
    return path if path.exists() else None


def system_chromium() -> Path | None:
    """A Chromium from the system's packages, found on PATH."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def chromium_executable() -> Path | None:
    """The executable to launch, or None to let Playwright launch its own Chromium.

    Raises ``NoBrowserError`` when there is no browser at all.
    """
    override = os.environ.get("CHROMIUM_PATH")
    if override:
        if not Path(override).exists():
            raise NoBrowserError(f"CHROMIUM_PATH={override} does not exist. {HOW_TO_GET_ONE}")
        return Path(override)
    if playwright_chromium() is not None:
        return None
    system = system_chromium()
    if system is None:
        raise NoBrowserError(HOW_TO_GET_ONE)
    return system


def ensure() -> int:
    """Make sure a browser exists, installing Playwright's Chromium as the last resort."""
    try:
        chromium_executable()
        return 0
    except NoBrowserError:
        pass
    print("No Chromium found; trying `playwright install chromium` ...", flush=True)
    installed = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"], check=False
    )
    if installed.returncode != 0:
        print(HOW_TO_GET_ONE, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--ensure"]:
        raise SystemExit("usage: python tools/browser.py --ensure")
    raise SystemExit(ensure())
