"""Every tab on a 390 px phone, in Chromium (issue 23): nothing that holds text is squeezed into a narrow column, plots
take the full width, the student view hides what only the instructor runs, and every locked control says so.

`narrow_text_elements(page)` is the check other browser tests can import."""

from __future__ import annotations

import pytest

from .browser import chromium_page
from .conftest import ARTIFACTS, class_settings, serve

pytestmark = pytest.mark.browser

KEY = "phone-lantern-7"
PHONE = dict(width=390, height=844)

# an element "holds text" when its own text (its direct text nodes, not its children's) is longer than 3 characters:
# icons, a checkbox's box, "Elo" or "%" are left out. It is "squeezed" when it is narrower than `min_px` AND that
# text breaks over two lines or more: a short label that fits on one line ("Stop", a table header) reads fine
NARROW_JS = """(minPx) => {
  const out = [];
  const root = document.querySelector('.gradio-container') || document.body;
  for (const el of root.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'TEXTAREA', 'OPTION', 'TITLE'].includes(el.tagName) || el.closest('svg')) continue;
    const texts = Array.from(el.childNodes).filter(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const own = texts.map(n => n.textContent).join(' ').replace(/\\s+/g, ' ').trim();
    if (own.length <= 3) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.width >= minPx) continue;
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const tops = new Set();
    for (const t of texts) {
      const range = document.createRange();
      range.selectNodeContents(t);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    if (tops.size < 2) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
    const owner = el.closest('[id]');
    out.push(`${name} in #${owner ? owner.id : '?'}: ${Math.round(box.width)} px wide, ${tops.size} lines: ` +
             `"${own.slice(0, 40)}"`);
  }
  return out;
}"""


def narrow_text_elements(page, min_px: int = 120) -> list[str]:
    """Short descriptions of the visible elements whose own text (over 3 characters) is squeezed into fewer than
    `min_px` pixels of width, breaking over two lines or more (empty list: none)."""
    return page.evaluate(NARROW_JS, min_px)


PLOTS_JS = """() => Array.from(document.querySelectorAll('#rl-tabs [data-testid=matplotlib] img'))
  .filter(i => i.checkVisibility() && i.getBoundingClientRect().width > 0)
  .map(i => [i.closest('[id]').id, Math.round(i.getBoundingClientRect().width)])"""

# every disabled input (a slider, a number, a box, a dropdown) that is visible sits in a block that says why
UNEXPLAINED_JS = """() => {
  const out = [];
  for (const input of document.querySelectorAll('#rl-tabs input:disabled, #rl-tabs textarea:disabled')) {
    if (!input.checkVisibility() || input.closest('.table-wrap, table')) continue;
    const block = input.closest('.block') || input.parentElement;
    if (!block.innerText.includes('the instructor runs this')) out.push((block.id || '?') + ': ' +
                                                                        block.innerText.slice(0, 50));
  }
  return out;
}"""

LOCKED_BUTTONS = ["#rm-train", "#rm-stop", "#rm-activate", "#ppo-start", "#ppo-stop", "#cmp-dpo-train",
                  "#cmp-frontier", "#cmp-preset-start", "#vote-filter-save", "#vote-reset", "#cal-start"]
INSTRUCTOR_SECTIONS = ["#vote-filters", "#cal-instructor", "#rm-train", "#rm-pairs", "#rm-activate", "#ppo-start",
                       "#ppo-beta", "#cmp-set-gold", "#cmp-preset-start", "#cmp-preset-labels", "#cmp-dpo-train",
                       "#cmp-beta", "#cmp-frontier", "#cmp-ns"]


@pytest.fixture(scope="module")
def locked_bundled_app(tmp_path_factory):
    """`bundled_app` with an instructor key: what a class sees on demo day."""
    url, ws, demo = serve(class_settings(tmp_path_factory.mktemp("rlhf_data_phone"), KEY))
    yield url, ws
    demo.close()


def tabs(page):
    """Click every tab in turn; yields its label once its panel shows."""
    n = page.locator("#rl-tabs [role=tablist] [role=tab]").count()
    assert n == 5
    for i in range(n):
        tab = page.locator("#rl-tabs [role=tablist] [role=tab]").nth(i)
        tab.click()
        page.wait_for_function("i => document.querySelectorAll('#rl-tabs [role=tablist] [role=tab]')[i]"
                               ".getAttribute('aria-selected') === 'true'", arg=i)
        page.wait_for_timeout(600)  # the panel's first paint (plots are images decoded after the switch)
        yield tab.inner_text().strip()


def check_tab(page, label: str, view: str) -> None:
    assert narrow_text_elements(page) == [], f"{view}, tab {label}"
    plots = page.evaluate(PLOTS_JS)
    assert all(width >= 300 for _, width in plots), f"{view}, tab {label}: plots narrower than the phone: {plots}"


def test_every_tab_fits_a_phone_and_the_student_view_hides_the_instructors_controls(locked_bundled_app):
    url, _ = locked_bundled_app
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(**PHONE) as page:
        # -- a student's phone ----------------------------------------------------------------------------------------
        page.goto(url + "?view=student")
        page.wait_for_function("document.body.classList.contains('rl-student')", timeout=30_000)
        page.locator("#vote-new").wait_for(timeout=30_000)  # a tab's content is in the page once it was opened
        assert not page.get_by_text("--data PATH").first.is_visible()  # the start-up flag is for the instructor
        for label in tabs(page):
            check_tab(page, label, "student view")
            hidden = [s for s in INSTRUCTOR_SECTIONS if page.locator(s).first.is_visible()]
            assert hidden == [], f"student view, tab {label}: instructor sections show"
            assert page.evaluate(UNEXPLAINED_JS) == [], f"student view, tab {label}"
            page.screenshot(path=str(ARTIFACTS / f"phone-student-{label.split(' · ')[-1].lower()}.png"), full_page=True)

        # -- the full page, locked: every instructor control is there, greyed out, and says why --------------------
        page.goto(url)
        page.locator("#browse-random").wait_for(timeout=30_000)
        assert page.get_by_text("--data PATH").first.is_visible()
        for label in tabs(page):
            check_tab(page, label, "locked full view")
            for sel in LOCKED_BUTTONS:
                button = page.locator(sel)
                if button.is_visible():
                    assert button.is_disabled() and button.inner_text().strip().endswith("instructor only"), sel
            assert page.evaluate(UNEXPLAINED_JS) == [], f"locked full view, tab {label}"

        # -- the instructor, unlocked: every section shows, and nothing is squeezed either -------------------------
        page.get_by_text("Instructor", exact=True).click()
        page.locator("#instructor-key input").fill(KEY)
        page.click("#instructor-unlock")
        page.wait_for_selector("text=Instructor mode", timeout=20_000)
        for label in tabs(page):
            check_tab(page, label, "instructor view")
            assert "the instructor runs this" not in page.locator("#rl-tabs").inner_text()
            page.screenshot(path=str(ARTIFACTS / f"phone-instructor-{label.split(' · ')[-1].lower()}.png"),
                            full_page=True)
