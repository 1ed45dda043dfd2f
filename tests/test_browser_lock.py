"""The instructor lock and the shared live settings, in Chromium: a student's page cannot change the lesson, the
instructor's can, and two instructor pages opened at different times never fight over a setting."""

from __future__ import annotations

import pytest

from .browser import chromium_pages
from .conftest import ARTIFACTS, class_settings, serve

pytestmark = pytest.mark.browser

KEY = "owl-lantern-42"


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory):
    url, ws, demo = serve(class_settings(tmp_path_factory.mktemp("rlhf_data_locked"), KEY))
    yield url, ws
    demo.close()


def set_number(page, selector: str, value) -> None:
    box = page.locator(f"{selector} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def beta_shown(page) -> str:
    return page.locator("#ppo-beta input[type=number]").first.input_value()


def unlock(page, key: str) -> None:
    page.get_by_text("Instructor", exact=True).click()
    page.locator("#instructor-key input").fill(key)
    page.click("#instructor-unlock")


def test_students_cannot_change_the_lesson_and_two_pages_never_fight(locked_app):
    url, ws = locked_app
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_pages(3, width=1400) as (student, early, late):
        # -- a student: every instructor control is greyed out, and the server refuses anyway ------------------------
        student.goto(url)
        student.get_by_role("tab", name="4 · PPO").click()
        student.wait_for_function("document.querySelector('#ppo-start').disabled === true", timeout=20_000)
        assert student.locator("#ppo-beta input[type=number]").first.is_disabled()
        assert student.locator("#ppo-start").inner_text().strip() == "Start · instructor only"  # says why it is grey
        unlock(student, "not-the-key")
        student.wait_for_selector("text=That is not the instructor key", timeout=20_000)
        assert student.locator("#ppo-start").is_disabled()
        assert KEY not in student.content()  # the key is never sent to a page

        # -- the instructor opens two pages: the early one first --------------------------------------------------
        early.goto(url)
        unlock(early, KEY)
        early.wait_for_selector("text=Instructor mode", timeout=20_000)
        early.get_by_role("tab", name="4 · PPO").click()
        early.wait_for_function("document.querySelector('#ppo-start').disabled === false", timeout=20_000)
        assert early.locator("#ppo-start").inner_text().strip() == "Start"
        late.goto(url)
        unlock(late, KEY)
        late.wait_for_selector("text=Instructor mode", timeout=20_000)
        late.get_by_role("tab", name="4 · PPO").click()
        late.wait_for_function("document.querySelector('#ppo-start').disabled === false", timeout=20_000)

        set_number(late, "#ppo-beta", 0.2)  # page 2 sets beta = 0.2 ...
        late.wait_for_function("() => true")
        student.wait_for_function("document.querySelector('#ppo-beta input[type=number]').value === '0.2'",
                                  timeout=20_000)  # every page polls the settings in use, the student's too
        early.wait_for_function("document.querySelector('#ppo-beta input[type=number]').value === '0.2'", timeout=20_000)
        assert ws.ppo.run.config.kl_coef == 0.2
        set_number(early, "#ppo-temperature", 0.9)  # ... the early page nudges the temperature: beta stays 0.2
        early.wait_for_function("document.querySelector('#ppo-status').innerText.includes('temperature 0.9')",
                                timeout=20_000)
        assert (ws.ppo.run.config.kl_coef, ws.ppo.run.config.temperature) == (0.2, 0.9)
        for page in (early, late, student):
            page.wait_for_function("document.querySelector('#ppo-status').innerText.includes('β = 0.2')", timeout=20_000)
            assert beta_shown(page) == "0.2"
        early.screenshot(path=str(ARTIFACTS / "lock-instructor.png"), full_page=False)
        student.screenshot(path=str(ARTIFACTS / "lock-student.png"), full_page=False)

        # -- the student's page, forced: its controls are re-enabled by hand, the server still refuses -------------
        student.evaluate("document.querySelector('#ppo-reset').disabled = false")
        student.click("#ppo-reset")
        student.wait_for_selector("text=Instructor only", timeout=20_000)
        assert ws.ppo.run.config.kl_coef == 0.2
        # an error is a message that goes away, never a red "Error" pill left over an output (it read as a crash)
        pills = ("() => [...document.querySelectorAll('[data-testid=status-tracker]')]"
                 ".filter(e => e.innerText.includes('Error') && !e.classList.contains('hide')"
                 " && e.checkVisibility({opacityProperty: true, visibilityProperty: true})).length")
        student.evaluate("window.scrollTo(0, 0)")
        student.screenshot(path=str(ARTIFACTS / "lock-student-after-error.png"))
        assert student.evaluate(pills) == 0
