"""The whole lesson in Chromium, as demo day lives it (issue 23): an instructor at 1920 × 1080 with the key, a
student on a 390 px phone in the student view. Fresh → votes → reward model → PPO → checkpoint → before/after vote →
Compare, and at each stage the lesson line names the next step. On the way: the PPO verdict a class can read, probe
replies coloured by what happened, the before/after head-to-head on the Vote tab, a phone layout with no squeezed
text, and "instructor only" on what a student cannot press. Screenshots of each stage go to test-artifacts/."""

from __future__ import annotations

import json
import re
import time

import pytest
from gradio_client import Client

from rlhf_demo.lesson import BEFORE_AFTER_VOTES, VOTES_FOR_A_RANKING

from .browser import chromium_pages, set_number
from .conftest import ARTIFACTS, class_settings, serve
from .test_browser_lock import unlock
from .test_phone_layout import narrow_text_elements

pytestmark = pytest.mark.browser

KEY = "lesson-key-23"
VERDICT = re.compile(r"After 2 steps the held-out score moved by [+-]\d+\.\d\d σ \(noise ±\d+\.\d\d\); the replies "
                     r"moved \d+\.\d\d nats from the base\. (Gain|No clear gain yet|Worse)")
HEAD_TO_HEAD = re.compile(r"ppo-step2 beat base-t0\.7 in \d+ % of (\d+) votes? \(95 % interval \d+–\d+ %")


@pytest.fixture(scope="module")
def lesson_app(tmp_path_factory, tiny_bert):
    """A fresh class: the bundled set, the tiny policy, a tiny reward backbone (seconds to train), an instructor key."""
    url, ws, demo = serve(class_settings(tmp_path_factory.mktemp("rlhf_lesson"), KEY, reward_backbone=tiny_bert,
                                         allow_any_model=True))
    yield url, ws
    demo.close()


def wait_text(page, selector: str, needle: str, timeout: int = 60_000) -> None:
    """Wait until the element's text holds `needle`; on a timeout, fail with the text it holds (the reason)."""
    try:
        page.wait_for_function(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText"
                               f".includes({json.dumps(needle)})", timeout=timeout)
    except Exception as e:
        shown = page.locator(selector).first.inner_text() if page.locator(selector).count() else "(missing)"
        raise AssertionError(f"{selector} never showed {needle!r}; it shows: {shown[:500]!r}") from e


def next_step(page, starts: str, timeout: int = 30_000) -> str:
    """Wait until the lesson line (polled) names the step `starts` with; returns the line."""
    wait_text(page, "#lesson-next", starts, timeout)
    return page.locator("#lesson-next").inner_text()


def tab(page, label: str) -> None:
    page.locator("#rl-tabs [role=tab]", has_text=label).first.click()


def api_votes(client: Client, until, limit: int = 200) -> None:
    """Rounds and votes over the API (the arena draws the pairs) until `until()` holds: the bulk of a class's votes."""
    for i in range(limit):
        if until():
            return
        r = client.predict("", api_name="/arena_round")
        client.predict(r["round_id"], "B" if i % 3 else "A", f"student{i % 7}", api_name="/arena_vote")
    raise AssertionError(f"{limit} votes did not reach the stage")


def shoot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"lesson-{name}.png"), full_page=True)


def test_the_whole_lesson_as_an_instructor_and_a_student_on_a_phone(lesson_app):
    from rlhf_demo.ui.classroom import lesson_state

    url, ws = lesson_app
    ARTIFACTS.mkdir(exist_ok=True)
    api = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    with chromium_pages(2, width=1920, height=1080) as (teacher, phone):
        phone.set_viewport_size({"width": 390, "height": 844})
        teacher.goto(url)
        phone.goto(url + "?view=student")
        phone.wait_for_function("document.body.classList.contains('rl-student')", timeout=30_000)
        unlock(teacher, KEY)
        wait_text(teacher, "#instructor-status", "nlocked")

        # -- 1. fresh: vote first; the button takes the teacher there ----------------------------------------------
        line = next_step(teacher, "Next: vote:")
        assert f"a ranking needs about {VOTES_FOR_A_RANKING}" in line
        teacher.click("#lesson-go")
        teacher.wait_for_function("document.querySelector('[role=tab][aria-selected=true]').innerText.includes('Vote')")
        # the class relaxes the vote filters for a fast demo (instructor-only, over the API as a script would)
        api.predict(KEY, 0, 0, False, api_name="/vote_filters")
        # a student votes on the phone, with big buttons ...
        phone.click("#vote-new")
        phone.wait_for_function("!document.querySelector('#vote-a').disabled", timeout=60_000)
        phone.click("#vote-a")
        wait_text(phone, "#vote-reveal", "Model A was")
        shoot(phone, "1-vote-390")
        # ... and the rest of the class's votes arrive
        api_votes(api, lambda: ws.standings.current()["counted"] >= VOTES_FOR_A_RANKING)

        # -- 2. votes: train a reward model -------------------------------------------------------------------------
        next_step(teacher, "Next: train a reward model")
        teacher.click("#lesson-go")
        set_number(teacher, "#rm-pairs", 20)
        teacher.get_by_text("LoRA and optimiser").click()
        teacher.locator("#rm-epochs textarea, #rm-epochs input").first.fill("1")
        teacher.click("#rm-train")
        wait_text(teacher, "#rm-status", "Reward model training: done", 240_000)
        assert ws.reward.models.active is not None  # the first model becomes active (none was)

        # -- 3. a reward model: run PPO ---------------------------------------------------------------------------
        next_step(teacher, "Next: run ppo")
        teacher.click("#lesson-go")
        wait_text(teacher, "#ppo-status", "Step 0")  # the tab has drawn what the shared run holds (its poll, too)
        set_number(teacher, "#ppo-steps", 2)
        teacher.wait_for_timeout(500)
        assert teacher.locator("#ppo-steps input").input_value() == "2"  # no poll put the old count back
        teacher.click("#ppo-start")
        wait_text(teacher, "#ppo-status", "PPO: done", 240_000)
        # the verdict: one sentence anyone can read, with the noise and a verdict in words
        wait_text(teacher, "#ppo-verdict", "After 2 steps", 30_000)
        assert VERDICT.search(teacher.locator("#ppo-verdict").inner_text()), teacher.locator("#ppo-verdict").inner_text()
        # probe replies coloured by what happened (better / worse / about the same), never a fixed green
        wait_text(teacher, "#ppo-probes", "step 2 (now)")
        now_boxes = teacher.locator("#ppo-probes .rl-final.rl-better, #ppo-probes .rl-final.rl-worse, "
                                    "#ppo-probes .rl-final.rl-same")
        assert now_boxes.count() == 4
        for i in range(4):
            box = now_boxes.nth(i)
            words = box.locator("h4").inner_text()
            cls = box.get_attribute("class")
            assert (("rl-better" in cls and "better (" in words) or ("rl-worse" in cls and "worse (" in words)
                    or ("rl-same" in cls and "about the same" in words)), (cls, words)
        wait_text(teacher, "#ppo-before-after", "now (step 2)")
        shoot(teacher, "3-ppo-1920")
        # the student's phone shows the same run: the steps asked for, and no way to start one
        tab(phone, "PPO")
        phone.wait_for_function("document.querySelector('#ppo-steps input') === null || "
                                "document.querySelector('#ppo-steps input').value === '2' || "
                                "!document.querySelector('#ppo-steps').checkVisibility()", timeout=20_000)
        wait_text(phone, "#ppo-verdict", "After 2 steps", 30_000)
        shoot(phone, "3-ppo-390")

        # -- 4. a PPO run: save a checkpoint ------------------------------------------------------------------------
        next_step(teacher, "Next: save a checkpoint")
        teacher.click("#ppo-save")
        wait_text(teacher, "#ppo-checkpoints", "ppo-step2", 30_000)

        # -- 5. a checkpoint: the class votes before vs after -------------------------------------------------------
        line = next_step(teacher, "Next: vote before vs after")
        assert f"the first answer needs about {BEFORE_AFTER_VOTES}" in line

        def head_to_head_votes() -> int:
            board = api.predict(api_name="/leaderboard")
            h2h = board.get("before_after") or {}
            return int(h2h.get("n") or 0)

        api_votes(api, lambda: lesson_state(ws).before_after_votes >= BEFORE_AFTER_VOTES and head_to_head_votes() >= 3,
                  limit=400)
        teacher.click("#lesson-go")
        n = head_to_head_votes()
        for page in (teacher, phone):
            tab(page, "Vote")
            wait_text(page, "#vote-before-after", f" of {n} vote", 30_000)  # polled: the newest count arrives
            text = page.locator("#vote-before-after").inner_text()
            m = HEAD_TO_HEAD.search(text)
            assert m and int(m.group(1)) == n, text
        shoot(teacher, "5-vote-1920")
        shoot(phone, "5-vote-390")

        # -- 6. before/after votes: compare, which needs a gold model beside the proxy --------------------------------
        next_step(teacher, "Next: compare: first train a second reward model in tab 3")
        teacher.click("#lesson-go")
        teacher.wait_for_function("document.querySelector('[role=tab][aria-selected=true]').innerText.includes('Reward')")
        proxy = ws.reward.models.active
        set_number(teacher, "#rm-pairs", 40)
        teacher.click("#rm-train")
        deadline = time.monotonic() + 240
        while len(ws.reward.models.list()) < 2 and time.monotonic() < deadline:  # the status still reads the
            time.sleep(0.5)  # first training's "done" until this one starts: wait for the second model itself
        wait_text(teacher, "#rm-status", "Reward model training: done", 60_000)
        assert ws.reward.models.active == proxy and len(ws.reward.models.list()) == 2  # gold, not made active
        next_step(teacher, "Next: compare: tab 5")
        teacher.click("#lesson-go")
        for n in ("4", "8", "16"):
            teacher.locator("#cmp-ns").get_by_label(n, exact=True).uncheck()
        set_number(teacher, "#cmp-prompts", 4)
        teacher.click("#cmp-frontier")
        wait_text(teacher, "#cmp-frontier-status", "Reward–KL frontier: done", 240_000)
        next_step(teacher, "Every step is done")
        shoot(teacher, "6-compare-1920")

        # -- the phone: every tab readable at 390 px, locked controls say why -----------------------------------------
        phone.bring_to_front()  # (headless Chromium throttles the timers of a page in the background)
        ready = {"Reward": ("#rm-status", "Reward model training: done"), "PPO": ("#ppo-verdict", "After 2 steps"),
                 "Compare": ("#cmp-pairing", "Gold (never optimised")}
        for label in ("Browse", "Vote", "Reward", "PPO", "Compare"):
            tab(phone, label)
            if label in ready:  # the student's page shows the class's results, not the page as it was loaded
                wait_text(phone, *ready[label])
            phone.wait_for_timeout(800)
            assert narrow_text_elements(phone) == [], label
            shoot(phone, f"7-{label.lower()}-390")
        assert not phone.locator("#lesson-go").is_visible()  # the lesson's buttons are the teacher's
    # a locked control on a page without the key says who runs it (the student view hides most of them)
    with chromium_pages(1, width=390, height=844) as (locked,):
        locked.goto(url)
        tab(locked, "PPO")
        locked.wait_for_function("document.querySelector('#ppo-start').disabled === true", timeout=30_000)
        assert "instructor only" in locked.locator("#ppo-start").inner_text()
        assert narrow_text_elements(locked) == []
