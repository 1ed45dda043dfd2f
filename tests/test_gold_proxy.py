"""The Compare tab's preset "Make a gold-labelled proxy" (`rlhf_demo/frontier/gold_proxy.py`), for real: the tiny
policy's replies to the bundled training prompts, labelled by a tiny trained gold model, a proxy trained on 50 of those
labels with the Reward tab's defaults, saved, made active; gold stays gold; the labelled file is an ordinary hh-rlhf
file; bad requests and a missing gold model are refused with a sentence; Stop leaves the class's models alone."""

from __future__ import annotations

import pytest

from rlhf_demo.settings import Settings
from rlhf_demo.workspace import Workspace

from .conftest import QuietCtx

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def workspace(data_dir, backbone) -> Workspace:
    return Workspace(Settings(offline=True, policy="tiny", reward_backbone=backbone, allow_any_model=True,
                              data_dir=data_dir))


@pytest.fixture(scope="module")
def ws(tmp_path_factory, tiny_bert):
    """An app with one reward model, rm-gold (the active one: a class that trained one model)."""
    from rlhf_demo.reward.config import RewardConfig

    ws = workspace(tmp_path_factory.mktemp("gold-proxy"), tiny_bert)
    cfg = RewardConfig(backbone=tiny_bert, max_length=64, lora_r=4, num_train_epochs=1, eval_pairs=16)
    job, _ = ws.reward.training_job(cfg, "bundled", 32, False, name="rm-gold")
    job(QuietCtx())
    assert ws.reward.active == "rm-gold" and ws.gold.name() is None  # one model: the proxy, no gold yet
    return ws


def test_bad_requests_are_refused_with_a_sentence(ws, tmp_path, tiny_bert):
    for n in (49, 401, 100.5, True, "100", None):
        with pytest.raises(ValueError, match="whole number from 50 to 400"):
            ws.goodhart.start(n)
    with pytest.raises(ValueError, match="Label noise must be a share from 0 to 0.4"):
        ws.goodhart.start(100, noise=0.5)
    with pytest.raises(ValueError, match="at most 144 labels"):  # the bundled set has 192 training prompts
        ws.goodhart.start(150)
    with pytest.raises(ValueError, match="Train a gold model first"):
        workspace(tmp_path, tiny_bert).goodhart.start(100)
    assert ws.goodhart.snapshot().state == "idle"  # nothing started


def test_the_preset_makes_an_active_proxy_from_gold_labels_and_gold_stays_gold(ws):
    from rlhf_demo.data.pairs import pairs_from_set
    from rlhf_demo.data.sources import LocalSource
    from rlhf_demo.reward.registry import trained_on_text

    message = ws.goodhart.start(50)
    assert "50 labels by the gold model rm-gold" in message
    assert ws.jobs.join(600)
    snap = ws.goodhart.snapshot()
    assert snap.state == "done", snap.error or snap.traceback
    result = snap.result
    name = result["name"]
    assert name.startswith("proxy-gold50-") and result["activated"] and result["gold"] == "rm-gold"
    assert result["labels"] == result["n_train"] == 50 and result["eval_pairs"] == 48 and result["flipped"] == 0
    assert snap.progress == 1.0 and snap.eta == None and "is the active model now" in snap.message  # noqa: E711
    assert ws.reward.active == name  # the proxy: what PPO and best-of-N optimise
    assert ws.gold.name() == "rm-gold"  # gold stays gold (pinned: the default is not asked)

    source = LocalSource(result["file"])  # an ordinary hh-rlhf preference file
    pairs = pairs_from_set(source.load())
    assert len(pairs) == 50 and result["file"].endswith(f"labelled/{name}.jsonl")
    assert all(prompt.endswith("Assistant:") and chosen != rejected for prompt, chosen, rejected in pairs)

    entry = ws.reward.models.info(name)
    assert entry["n_train"] == 50 and entry["trained_on"]["what"] == "50 pairs of the policy's replies labelled by rm-gold"
    assert trained_on_text(entry["trained_on"]) == "the policy's replies labelled by rm-gold, 50 pairs"
    assert ws.reward.data_warning() is None  # the prompts are the loaded data's: no "other data" warning

    with pytest.raises(ValueError, match="at most 144 labels"):  # checked again before anything starts
        ws.goodhart.start(200)


def test_stop_while_sampling_saves_nothing_and_keeps_the_active_model(ws):
    before = {m["name"] for m in ws.reward.models.list()}
    active = ws.reward.active
    ws.goodhart.start(60, noise=0.25, seed=1)
    assert ws.goodhart.stop() == "stopping"
    assert ws.jobs.join(300)
    assert ws.goodhart.snapshot().state == "stopped"
    assert {m["name"] for m in ws.reward.models.list()} == before and ws.reward.active == active
    assert ws.goodhart.stop() == "not running"
