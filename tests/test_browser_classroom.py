"""The student view and the tab bar on a phone, in Chromium."""

from __future__ import annotations

import pytest

from .browser import chromium_page
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_the_student_view_opens_on_vote_and_every_tab_fits_a_phone(bundled_app):
    url, _ = bundled_app
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(width=390, height=844) as page:
        page.goto(url + "?view=student")
        page.wait_for_function("document.body.classList.contains('rl-student')", timeout=30_000)
        page.wait_for_function("document.querySelector('[role=tab][aria-selected=true]').innerText.includes('Vote')",
                               timeout=30_000)
        assert page.locator("#vote-new").is_visible()
        # all five tabs are in the tab bar itself, none hidden under Gradio's "..." overflow menu
        visible = page.eval_on_selector_all("#rl-tabs [role=tablist] [role=tab]", "els => els.map(e => e.innerText)")
        assert len(visible) == 5, visible
        height = page.locator("#vote-a").bounding_box()["height"]
        assert height >= 60  # big buttons for thumbs
        page.screenshot(path=str(ARTIFACTS / "student-view-390.png"))


def test_the_lesson_line_has_a_button_that_opens_the_next_steps_tab(bundled_app):
    from rlhf_demo.lesson import next_lesson_step
    from rlhf_demo.ui.classroom import TAB_NAMES, lesson_state

    url, ws = bundled_app
    step = next_lesson_step(lesson_state(ws))
    assert step is not None  # a test app never computes the frontier
    with chromium_page() as page:
        page.goto(url)
        go = page.locator("#lesson-go")
        go.wait_for(state="visible", timeout=30_000)
        assert go.inner_text() == f"Go to tab {TAB_NAMES[step.tab]}"
        page.locator("#browse-random").wait_for(timeout=30_000)  # the page starts on Browse
        go.click()
        page.wait_for_function("label => document.querySelector('[role=tab][aria-selected=true]').innerText"
                               ".includes(label)", arg=TAB_NAMES[step.tab].split(" · ")[1], timeout=30_000)
    with chromium_page(width=390, height=844) as phone:
        phone.goto(url + "?view=student")
        phone.wait_for_function("document.body.classList.contains('rl-student')", timeout=30_000)
        phone.wait_for_timeout(1000)
        assert not phone.locator("#lesson-go").is_visible()  # students get the Vote tab, not the lesson's buttons
