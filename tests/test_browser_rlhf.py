"""The RLHF loop in Chromium on the offline default: train a reward model (live curve), run PPO (plots and
probe table update), save a checkpoint, find it as a contestant in the Vote tab. Saves screenshots."""

from __future__ import annotations

import pytest

from rlhf_demo.ppo.service import HACK_SETTINGS

from .browser import chromium_page, set_number
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


# the text of one cell of a gr.Dataframe, by row (0 = top) and column title; null while it is not rendered
DATAFRAME_CELL = """([id, row, column]) => {
    const titles = [...document.querySelectorAll(`#${id} [role=columnheader]`)].map(th => th.getAttribute("title"));
    const col = titles.indexOf(column);
    const cell = col < 0 ? null : document.querySelector(`#${id} [role=gridcell][data-row="${row}"][data-col="${col}"]`);
    return cell ? cell.innerText.trim() : null;
}"""


def test_reward_then_ppo_in_chromium(bundled_app):
    url, ws = bundled_app
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(width=1400) as page:
        page.goto(url)
        assert page.locator("#ack-warning").count() == 0 or not page.locator("#ack-warning").is_visible()  # benign set

        # -- reward model: a short run --
        page.get_by_role("tab", name="3 · Reward").click()
        set_number(page, "#rm-pairs", 20)
        page.get_by_text("LoRA and optimiser").click()
        page.locator("#rm-epochs textarea, #rm-epochs input").first.fill("1")  # a text field: empty = auto
        page.click("#rm-train")
        page.wait_for_function("document.querySelector('#rm-status').innerText.includes('Reward model training: done')",
                               timeout=240_000)
        page.wait_for_function("document.querySelector('#rm-eval').innerText.includes('after training')", timeout=20_000)
        assert "1 epoch = 2 optimiser steps" in page.locator("#rm-eval").inner_text()  # 20 pairs, batch 16, epochs 1
        assert page.locator("#rm-curves img, #rm-curves svg, #rm-curves canvas").count() > 0
        assert "●" in page.locator("#rm-models").inner_text()  # the new model is listed and active
        page.click("#rm-pg-score")
        page.wait_for_function("document.querySelector('#rm-pg-out').innerText.includes('Reply 1')", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "reward.png"), full_page=True)
        assert ws.reward.models.active is not None

        # -- PPO: two steps --
        page.get_by_role("tab", name="4 · PPO").click()
        set_number(page, "#ppo-steps", 2)
        page.click("#ppo-start")
        page.wait_for_function("document.querySelector('#ppo-status').innerText.includes('PPO: done')", timeout=240_000)
        page.wait_for_function("document.querySelector('#ppo-status').innerText.includes('Step 2')", timeout=20_000)
        page.wait_for_function("document.querySelector('#ppo-probes').innerText.includes('step 2 (now)')", timeout=20_000)
        assert "score" in page.locator("#ppo-samples").inner_text()
        assert page.locator("#ppo-samples span[title^='KL']").count() > 0  # tokens shaded by per-token KL
        page.get_by_text("Evolution table").click()
        # newest probes first: the top row is from the step just run (the table also holds step 0's)
        page.wait_for_function(f"!!({DATAFRAME_CELL})(['ppo-probe-table', 0, 'step'])", timeout=20_000)
        top_step = page.evaluate(DATAFRAME_CELL, ["ppo-probe-table", 0, "step"])
        assert int(top_step) == ws.ppo.run.view().step == 2
        page.click("#ppo-save")
        page.wait_for_function("document.querySelector('#ppo-checkpoints').innerText.includes('ppo-step2')", timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "ppo.png"), full_page=True)

        # -- the reward-hacking demo button sets beta 0, a higher lr and a long run; Restore puts beta back --
        page.click("#ppo-hack")
        page.wait_for_function("document.querySelector('#ppo-steps input').value === '150'", timeout=20_000)
        page.wait_for_function("document.querySelector('#ppo-beta input[type=number]').value === '0'", timeout=20_000)
        assert "Reward-hacking demo." in page.locator("body").inner_text()  # the explanation of what to watch
        assert ws.ppo.run.config.kl_coef == 0.0 and ws.ppo.run.config.learning_rate == HACK_SETTINGS["learning_rate"]  # next step
        page.click("#ppo-restore")
        page.wait_for_function("document.querySelector('#ppo-beta input[type=number]').value === '0.05'", timeout=20_000)
        assert ws.ppo.run.config.kl_coef == 0.05
    assert "ppo-step2" in ws.contestants
    history = ws.ppo.run.view().history
    assert len(history) == 2
    # the app runs 2 PPO epochs per batch, so the second pass sees a moved policy: approx KL is not ~0
    assert all(row["policy/approxkl_avg"] > 1e-9 for row in history)
