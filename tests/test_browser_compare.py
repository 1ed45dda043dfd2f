"""The Compare tab in Chromium on the tiny policy: proxy and gold are named, a PPO run draws the proxy/gold curves,
DPO runs as a background job with live curves and its adapter is listed, and the frontier puts best-of-N, the DPO
adapter and the PPO checkpoint on one chart. Saves screenshots (desktop and phone width)."""

from __future__ import annotations

import json

import pytest

from rlhf_demo.frontier import recorded
from rlhf_demo.reward.model import META_FILE

from .browser import chromium_page, set_number
from .conftest import ARTIFACTS, serve
from .test_frontier import save_reward_model
from .test_recorded_curves import RECORDED

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def compare_app(tmp_path_factory, tiny_bert):
    """The app with two saved reward models: a proxy trained on 24 pairs (active) and a gold one on 192; and a
    recorded over-optimisation run (the real one is the benchmark's) behind the live chart."""
    from rlhf_demo.settings import Settings

    data_dir = tmp_path_factory.mktemp("rlhf_data_compare")
    for name, n, seed in (("rm-votes", 24, 1), ("rm-all", 192, 2)):
        folder = data_dir / "reward_models" / name
        save_reward_model(folder, tiny_bert, seed)
        meta = json.loads((folder / META_FILE).read_text())
        meta.update(n_train=n, trained_on={"source": "bundled", "description": "the bundled set", "n_pairs": n})
        (folder / META_FILE).write_text(json.dumps(meta))
    (data_dir / "recorded.json").write_text(json.dumps(RECORDED))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recorded, "RECORDED_PATH", data_dir / "recorded.json")
        url, ws, demo = serve(Settings(offline=True, policy="tiny", data_dir=data_dir))
        ws.reward.models.set_active("rm-votes")
        yield url, ws
        demo.close()


def text_of(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def wait_text(page, selector: str, needle: str, timeout: int = 240_000) -> None:
    page.wait_for_function(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText"
                           f".includes({json.dumps(needle)})", timeout=timeout)


def test_compare_tab_in_chromium(compare_app):
    url, ws = compare_app
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(width=1400) as page:
        page.goto(url)
        page.get_by_role("tab", name="5 · Compare").click()
        wait_text(page, "#cmp-pairing", "Gold (never optimised against")
        pairing = text_of(page, "#cmp-pairing")
        assert "rm-votes" in pairing.split("Gold")[0] and "rm-all" in pairing.split("Gold")[1]  # proxy, then gold
        assert "No evaluation yet" in text_of(page, "#cmp-overopt-md")
        # the gold-labelled proxy preset (who would label), and the recorded runs behind the chart, before any run
        assert "Make a gold-labelled proxy" in text_of(page, "#cmp-preset") and page.locator("#cmp-preset-start").is_visible()
        wait_text(page, "#cmp-preset-status", "Labels by rm-all")
        assert "Faint lines: recorded on 2026-12-05 with" in text_of(page, "#cmp-overopt-recorded")

        # -- PPO (tab 4) for 2 steps: the gold evaluation runs at step 0 and at the end --
        page.get_by_role("tab", name="4 · PPO").click()
        set_number(page, "#ppo-steps", 2)
        page.click("#ppo-start")
        wait_text(page, "#ppo-status", "PPO: done")
        page.click("#ppo-save")
        wait_text(page, "#ppo-checkpoints", "ppo-step2", 30_000)
        page.get_by_role("tab", name="5 · Compare").click()
        wait_text(page, "#cmp-overopt-md", "2 evaluations", 30_000)
        evals = ws.ppo.run.view().evals
        assert [e["step"] for e in evals] == [0, 2] and {e["gold_name"] for e in evals} == {"rm-all"}
        assert page.locator("#cmp-overopt-plot img, #cmp-overopt-plot svg").count() > 0

        # -- DPO: a 2-step run as a background job; its adapter is listed and joins the arena --
        set_number(page, "#cmp-dpo-steps", 2)
        page.click("#cmp-dpo-train")
        wait_text(page, "#cmp-dpo-status", "DPO (dpo-1): done")
        wait_text(page, "#cmp-dpo-table", "dpo-1", 30_000)
        assert "dpo-1" in ws.contestants
        assert page.locator("#cmp-dpo-plot img, #cmp-dpo-plot svg").count() > 0

        # -- the frontier: best-of-1 and -2 on 4 prompts, plus the DPO adapter and the PPO checkpoint --
        for n in ("4", "8", "16"):
            page.locator("#cmp-ns").get_by_label(n, exact=True).uncheck()
        set_number(page, "#cmp-prompts", 4)
        page.click("#cmp-frontier")
        wait_text(page, "#cmp-frontier-status", "Reward–KL frontier: done")
        wait_text(page, "#cmp-frontier-table", "ppo-step2", 30_000)
        table = text_of(page, "#cmp-frontier-table")
        for name in ("best-of-1", "best-of-2", "dpo-1", "ppo-step2"):
            assert name in table
        result = ws.frontier.last()
        assert result["proxy"] == "rm-votes" and result["gold"] == "rm-all" and result["n_prompts"] == 4
        assert {r["method"] for r in result["rows"]} == {"best-of-n", "dpo", "ppo"}
        assert page.locator("#cmp-frontier-plot img, #cmp-frontier-plot svg").count() > 0
        page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "compare-390.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the Compare tab scrolls sideways on a phone by {overflow} px"
