"""A calibration set in Chromium: three students (one on a phone) judge the same 3 items; every page shows the
class's agreement, Fleiss' kappa included. Saves screenshots (desktop and 390 px)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .browser import CHROMIUM, FLAGS
from .conftest import ARTIFACTS, serve

pytestmark = pytest.mark.browser
KEY = "calibrate-me"
SHOTS = Path(os.environ.get("RLHF_SHOTS", "/tmp/shots"))


@pytest.fixture(scope="module")
def cal_app(tmp_path_factory, sample_path):
    from rlhf_demo.instructor import key_digest
    from rlhf_demo.settings import Settings

    url, ws, demo = serve(Settings(data=str(sample_path), offline=True, policy="tiny", instructor_key_sha256=key_digest(KEY),
                                   data_dir=tmp_path_factory.mktemp("rlhf_data_calibration")))
    yield url, ws
    demo.close()


def open_vote_tab(browser, url, width, height=1000):
    ctx = browser.new_context(viewport={"width": width, "height": height})  # its own session: its own voter
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.click("#ack-warning")
    page.get_by_role("tab", name="2 · Vote").click()
    page.wait_for_selector("#cal-panel", state="visible")  # the timer shows the active set within seconds
    return page


def judge_all(page, verdicts: str):
    for i, v in enumerate(verdicts):
        page.wait_for_function(f"document.querySelector('#cal-progress').innerText.includes('item {i + 1} of 3')")
        page.click(f"#cal-{v.lower()}")
    page.wait_for_function("document.querySelector('#cal-progress').innerText.includes('done, thanks')")


def test_three_students_judge_a_calibration_set(cal_app):
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    url, ws = cal_app
    from gradio_client import Client

    Client(url, verbose=False, analytics_enabled=False, download_files=False).predict(
        KEY, 3, api_name="/calibration_start")
    cal = ws.calibration.active()
    SHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            teacher = open_vote_tab(browser, url, 1300)  # watches without judging
            students = [open_vote_tab(browser, url, 1300), open_vote_tab(browser, url, 1300),
                        open_vote_tab(browser, url, 390, 844)]
            assert "item 1 of 3" in teacher.locator("#cal-progress").inner_text()
            prompt = students[0].locator("#cal-prompt .rl-conv").inner_text()
            assert prompt and prompt == students[2].locator("#cal-prompt .rl-conv").inner_text()  # the same item for all
            # the label is not on the page
            assert "chosen" not in students[0].content().lower().split("rl-chosen")[0][-200:]
            for page, verdicts in zip(students, ("ABA", "ABB", "AAA")):
                judge_all(page, verdicts)
            # every page, the teacher's too, shows the class's agreement within a timer tick
            for page in (teacher, students[2]):
                page.wait_for_function("document.querySelector('#cal-stats').innerText.includes('3 voters (3 finished)')")
            stats = teacher.locator("#cal-stats").inner_text()
            fleiss = re.search(r"Fleiss' κ (-?\d\.\d\d)", stats)
            assert fleiss, stats
            want = __import__("rlhf_demo.arena.calibration", fromlist=["x"]).calibration_stats(
                cal, ws.calibration.judgements(cal.set_id))["fleiss_kappa"]
            assert float(fleiss.group(1)) == pytest.approx(want, abs=0.006)
            teacher.wait_for_function("document.querySelector('#cal-chart img') !== null")
            phone = students[2]
            phone.wait_for_function("document.querySelector('#cal-chart img') !== null")
            box = phone.locator("#cal-chart img").bounding_box()
            assert box["width"] > 280  # the chart uses the phone's width
            teacher.screenshot(path=str(SHOTS / "calibration.png"), full_page=True)
            phone.screenshot(path=str(SHOTS / "calibration-phone.png"), full_page=True)
            shutil.copy(SHOTS / "calibration.png", ARTIFACTS / "calibration.png")
            shutil.copy(SHOTS / "calibration-phone.png", ARTIFACTS / "calibration-phone.png")
        finally:
            browser.close()
    judged = ws.calibration.judgements(cal.set_id)
    assert len(judged) == 9 and len({j.voter for j in judged}) == 3
