"""A person in a real browser: acknowledge the warning, move through pairs, search. Saves a screenshot."""

from __future__ import annotations

import re

import pytest

from .browser import chromium_page
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def position(page) -> str:
    return page.locator("#browse-position").inner_text()


def test_browse_in_chromium(app_server):
    url, ws = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        page.goto(url)
        # the hh-rlhf text stays hidden until the content warning is acknowledged
        page.locator("#ack-warning").wait_for()
        assert not page.locator("#browse-view").is_visible()
        page.click("#ack-warning")
        page.locator("#browse-view .rl-final").first.wait_for()
        assert page.locator("#browse-position").inner_text().startswith("Pair #0 of 1,812")
        assert page.locator(".rl-chosen").count() == 1 and page.locator(".rl-rejected").count() == 1
        assert page.locator("#browse-view mark").count() > 0  # the word-level diff is highlighted

        first_reply = page.locator(".rl-chosen").inner_text()
        page.click("#browse-next")
        page.wait_for_function("document.querySelector('#browse-position').innerText.startsWith('Pair #1 ')")
        assert page.locator(".rl-chosen").inner_text() != first_reply
        page.click("#browse-prev")
        page.click("#browse-prev")  # wraps around to the last pair
        page.wait_for_function("document.querySelector('#browse-position').innerText.startsWith('Pair #1,811 ')")

        page.fill("#browse-query textarea, #browse-query input", "alcohol")
        page.click("#browse-search")
        page.wait_for_function("document.querySelector('#browse-position').innerText.includes('alcohol')")
        text = position(page)
        m = re.search(r"match 1 of ([\d,]+)", text)
        assert m, text
        assert "alcohol" in page.locator("#browse-view").inner_text().lower()
        page.click("#browse-next")
        page.wait_for_function("document.querySelector('#browse-position').innerText.includes('match 2 of')")
        assert "alcohol" in page.locator("#browse-view").inner_text().lower()
        assert page.locator("#browse-stats").inner_text().count("1,812 pairs") == 1
        page.screenshot(path=str(ARTIFACTS / "browse.png"), full_page=True)

        page.fill("#browse-query textarea, #browse-query input", "zzqqxx")
        page.click("#browse-search")
        page.wait_for_function("document.querySelector('#browse-position').innerText.includes('No pair matches')")
