"""Headless Debian Chromium driven through chromedriver (selenium); never downloads a browser."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.tooling import ROOT, require_chromium

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
WAIT_SECONDS = 60.0


def artifacts_dir() -> Path:
    """Where screenshots go: $TEST_ARTIFACTS_DIR, else tmp/artifacts in the repository."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "tmp" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    binary, driver_path = require_chromium()
    # Selenium Manager must never try to fetch a browser or driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], object]) -> object:
    """Poll `condition` until it returns something truthy, for at most WAIT_SECONDS; on timeout,
    fail with what the page shows and what the browser console said, and keep a screenshot."""
    try:
        return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.1).until(condition)
    except TimeoutException:
        shot = save_screenshot(driver, "timeout")
        console = [entry.get("message") for entry in driver.get_log("browser")]  # type: ignore[no-untyped-call]
        page = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(
            f"timed out after {WAIT_SECONDS}s on {driver.current_url}\npage text: {page!r}\n"
            f"browser console: {console}\nscreenshot: {shot}"
        ) from None


def save_screenshot(driver: webdriver.Chrome, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    print(f"screenshot saved: {path}")
    return path
