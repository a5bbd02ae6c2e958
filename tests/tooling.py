"""Reaching the external tools some tests drive (Node tooling, Chromium).

Like `tests.services`: skipped with a printed reason on a bare machine, a failure under CI=true.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.services import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_TOOLS = ROOT / "tools" / "schema"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def _missing(what: str, how: str) -> None:
    if IN_CI:
        pytest.fail(f"{what}; CI=true makes it mandatory ({how})", pytrace=False)
    pytest.skip(f"{what} ({how}, or set CI=true to make this a failure)")


def require_node_tools() -> str:
    """The `node` binary, with the schema tools installed by `npm ci`."""
    node = shutil.which("node")
    if node is None or shutil.which("npx") is None:
        _missing("node/npx are not installed", "install Node 20 and npm")
    if not (SCHEMA_TOOLS / "node_modules" / ".package-lock.json").exists():
        _missing(
            f"{SCHEMA_TOOLS / 'node_modules'} is missing",
            "run: npm ci --prefix tools/schema",
        )
    assert node is not None
    return node


def require_chromium() -> tuple[str, str]:
    """Paths of a Chromium binary and its matching chromedriver."""
    browser = next((found for name in CHROMIUM_CANDIDATES if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        _missing(
            "chromium and chromedriver are not installed",
            "apt-get install -y chromium chromium-driver",
        )
    assert browser is not None and driver is not None
    return browser, driver
