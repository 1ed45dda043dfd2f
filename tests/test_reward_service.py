"""Which pairs the Reward model tab trains and evaluates on (`RewardService.select_pairs`, rlhf_demo/reward/service.py):
the held-out set never enters training, the pair budget is honoured, and the class's votes join when asked."""

from __future__ import annotations

import pytest

from rlhf_demo.arena.hygiene import VoteFilters
from rlhf_demo.data.pairs import pairs_from_set
from rlhf_demo.data.sources import BundledSource
from rlhf_demo.settings import Settings
from rlhf_demo.workspace import Workspace

from .conftest import QuietCtx

PROMPT = "\n\nHuman: What should I cook tonight?\n\nAssistant:"


@pytest.fixture
def ws(tmp_path):
    return Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))


def vote(ws, outcome: str, reply_a: str, reply_b: str, prompt: str = PROMPT) -> None:
    r = ws.votes.add_round(prompt, "base-t0.7", "base-t1.0", reply_a, reply_b, "voter", {})
    ws.votes.add_vote(r.round_id, outcome, voter_id="voter")


def test_train_and_held_out_pairs_are_disjoint_splits_of_the_bundled_set(ws):
    data = ws.reward.select_pairs("bundled", n_pairs=40, use_votes=False, n_eval=16)
    train_split = set(pairs_from_set(BundledSource().load("bundled", "train")))
    test_split = set(pairs_from_set(BundledSource().load("bundled", "test")))
    assert len(data.train) == 40 and len(data.eval) == 16 and data.n_votes == 0
    assert set(data.train) <= train_split and set(data.eval) <= test_split
    assert not {p for p, _, _ in data.train} & {p for p, _, _ in data.eval}  # not even a shared conversation
    assert "bundled/train" in data.description and "bundled/test" in data.description
    again = ws.reward.select_pairs("bundled", n_pairs=40, use_votes=False, n_eval=16)
    assert (again.train, again.eval) == (data.train, data.eval)  # seeded: the same pairs every time


def test_the_pair_budget_is_honoured(ws):
    available = len(pairs_from_set(BundledSource().load("bundled", "train")))
    assert len(ws.reward.select_pairs("bundled", n_pairs=5, use_votes=False, n_eval=8).train) == 5
    assert len(ws.reward.select_pairs("bundled", n_pairs=10_000, use_votes=False, n_eval=8).train) == available
    with pytest.raises(ValueError, match="No training pairs"):
        ws.reward.select_pairs("bundled", n_pairs=0, use_votes=False, n_eval=8)


def test_votes_the_vote_filters_do_not_count_stay_out_of_training(ws):
    vote(ws, "A", "Pasta with tomatoes.", "Nothing, skip dinner.")  # cast at once: under the 2 s minimum
    assert ws.reward.select_pairs("bundled", n_pairs=10, use_votes=True, n_eval=8).n_votes == 0
    ws.standings.set_filters(VoteFilters(min_seconds=0))  # the instructor turns that filter off: it counts
    assert ws.reward.select_pairs("bundled", n_pairs=10, use_votes=True, n_eval=8).n_votes == 1


def test_decisive_votes_join_the_training_pairs_when_asked(ws):
    ws.standings.set_filters(VoteFilters(min_seconds=0))  # test votes are cast the moment their round exists
    vote(ws, "A", "Pasta with tomatoes.", "Nothing, skip dinner.")
    vote(ws, "B", "Whatever.", "A vegetable curry.")
    vote(ws, "tie", "Soup.", "Salad.")  # no preference: not a pair
    with_votes = ws.reward.select_pairs("bundled", n_pairs=10, use_votes=True, n_eval=8)
    assert with_votes.n_votes == 2 and len(with_votes.train) == 12  # the votes come on top of the budget
    assert (PROMPT, "Pasta with tomatoes.", "Nothing, skip dinner.") in with_votes.train  # winner first
    assert (PROMPT, "A vegetable curry.", "Whatever.") in with_votes.train
    assert not any("Soup." in pair for pair in with_votes.train)
    without = ws.reward.select_pairs("bundled", n_pairs=10, use_votes=False, n_eval=8)
    assert without.n_votes == 0 and len(without.train) == 10 and all(p != PROMPT for p, _, _ in without.train)
    only_votes = ws.reward.select_pairs("bundled", n_pairs=0, use_votes=True, n_eval=8)  # votes alone are enough to train
    assert sorted(only_votes.train) == sorted([(PROMPT, "Pasta with tomatoes.", "Nothing, skip dinner."),
                                               (PROMPT, "A vegetable curry.", "Whatever.")])


def test_bad_requests_are_clear_errors(ws):
    with pytest.raises(ValueError, match="cannot be negative"):
        ws.reward.select_pairs("bundled", n_pairs=-1, use_votes=False, n_eval=8)
    with pytest.raises(ValueError, match="Unknown subset 'harmless-base'"):
        ws.reward.select_pairs("harmless-base", n_pairs=10, use_votes=False, n_eval=8)


def test_the_app_holds_out_a_fifth_of_a_single_split_file(tmp_path):
    """The same rule in the app: a data file with one split keeps 20 % (at most the tab's held-out budget) apart."""
    from rlhf_demo.paths import BUNDLED_DIR

    ws = Workspace(Settings(data=str(BUNDLED_DIR / "train.jsonl"), offline=True, policy="tiny",
                            data_dir=tmp_path / "data"))
    subset = ws.data.source.default()[0]
    data = ws.reward.select_pairs(subset, n_pairs=1000, use_votes=False, n_eval=400)
    total = len(data.train) + len(data.eval)
    assert len(data.eval) == round(0.2 * total) and len(data.train) > 0
    assert f"minus {len(data.eval)} held-out pairs" in data.description


def test_a_new_reward_model_replaces_the_active_one_only_when_asked(tmp_path, tiny_bert):
    """A class works with the active model; a newly trained one becomes active only when none is, or when the
    instructor asks (it once replaced a 90 % model with an 81 % one without a word). The result names the active
    model and its accuracy, so the tab can compare the two."""
    from rlhf_demo.reward.config import RewardConfig

    ws = Workspace(Settings(offline=True, policy="tiny", reward_backbone=tiny_bert, allow_any_model=True,
                            data_dir=tmp_path))
    cfg = RewardConfig(backbone=tiny_bert, max_length=64, lora_r=4, num_train_epochs=1, eval_pairs=16)

    def train(**kwargs):
        job, _ = ws.reward.training_job(cfg, "bundled", 32, False, **kwargs)
        return job(QuietCtx())

    first = train(name="rm-first")
    assert first["activated"] and ws.reward.active == "rm-first"  # nothing was active: the first one becomes it
    second = train(name="rm-second")
    assert not second["activated"] and ws.reward.active == "rm-first"
    assert second["active"] == "rm-first" and second["active_eval_accuracy"] == first["eval_accuracy"]
    third = train(name="rm-third", activate=True)
    assert third["activated"] and ws.reward.active == "rm-third"


def test_the_tab_says_when_a_new_model_is_not_the_active_one():
    from types import SimpleNamespace

    from rlhf_demo.ui.reward_view import evaluation_markdown

    result = {"n_eval": 48, "eval_accuracy_before": 0.5, "eval_accuracy": 0.81, "baseline_shorter_wins": 0.4,
              "baseline_longer_wins": 0.6, "name": "rm-2", "n_train": 100, "epochs": 1.0, "steps": 10,
              "train_seconds": 30.0, "trainable_params": 1, "total_params": 2, "stopped": False,
              "activated": False, "active": "rm-1", "active_eval_accuracy": 0.9}
    md = evaluation_markdown(SimpleNamespace(result=result, data={}))
    assert "Saved as **rm-2** (not higher than the active model's). It is **not** active" in md
    assert "**rm-1**, 90.0 % on its own held-out pairs" in md and "made active" not in md
    md = evaluation_markdown(SimpleNamespace(result={**result, "activated": True}, data={}))
    assert "Saved as **rm-2** and made active" in md


def test_the_pairs_slider_is_bounded_by_the_data_at_hand(tmp_path, sample_path):
    """The slider once went to 5,000 (default 400) on a bundled set of 192 training pairs."""
    bundled = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "a"))
    assert bundled.reward.available_pairs("bundled") == len(pairs_from_set(BundledSource().load("bundled", "train")))
    real = Workspace(Settings(offline=True, policy="tiny", data=str(sample_path), data_dir=tmp_path / "b"))
    subset = real.data.source.default()[0]
    n = real.reward.available_pairs(subset)  # one split: what is left after the held-out pairs
    data = real.reward.select_pairs(subset, 10**6, False, 400)
    assert n == len(data.train) and 1000 < n < 1812
