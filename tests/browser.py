"""Headless Chromium for the browser tests (Debian's chromium driven by playwright)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium_page(width: int = 1300, height: int = 1000):
    """A fresh page. Skips locally without Chromium; in CI (CI=true) a missing browser is a failure."""
    with chromium_pages(1, width, height) as (page,):
        yield page


@contextmanager
def chromium_pages(n: int, width: int = 1300, height: int = 1000):
    """`n` pages, each in its own browser context (its own cookies and Gradio session: n different visitors), in one
    Chromium (Playwright's sync API allows one at a time)."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must `apt-get install -y chromium`")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            pages = []
            for _ in range(n):
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.set_default_timeout(20_000)
                pages.append(page)
            yield pages
        finally:
            browser.close()


def set_number(page, selector: str, value) -> None:
    """Type `value` into the number box of the Gradio component `selector` and commit it (Enter)."""
    box = page.locator(f"{selector} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")
