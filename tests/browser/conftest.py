"""Browser tests: Playwright driving Debian's ``chromium`` against a live cluster.

They are skipped only when chromium is missing on a developer's machine; under CI
(``CI`` set) a missing chromium or Playwright fails them instead, so CI cannot pass
without running them. Playwright's own browser downloads are never used: the system
chromium is launched by path (``.ci/run`` installs it through apt).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The live cluster of the end-to-end tests: ``uccerts serve`` on this worker's own
# loopback addresses, whose Cisco Tomcat listeners serve the console.
from tests.e2e.conftest import live, live_template  # noqa: F401

if TYPE_CHECKING:
    from live import LiveCluster

SYSTEM_CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-proxy-server"]
SCREENSHOTS_ENV = "UCCERTS_SCREENSHOTS"  # set: write docs/screenshots/*.png


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives chromium through Playwright")


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser tests")
    pytest.skip(f"{why} (CI fails instead of skipping)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or (
        SYSTEM_CHROMIUM if os.access(SYSTEM_CHROMIUM, os.X_OK) else None)
    if path is None:
        _missing("chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser_for(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    """``browser_for(live)``: a chromium that resolves the cluster's host names to the
    live cluster's loopback addresses (as DNS would for real nodes)."""
    opened: list[Any] = []

    def launch(cluster: LiveCluster) -> Any:
        rules = ", ".join(f"MAP {node}.uc.example {address}"
                          for node, address in cluster.addresses.items())
        browser = playwright_driver.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=[*ARGS, f"--host-resolver-rules={rules}"])
        opened.append(browser)
        return browser

    yield launch
    for browser in opened:
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: the README's folder when asked for, else the test's tmp."""
    if os.environ.get(SCREENSHOTS_ENV):
        folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
