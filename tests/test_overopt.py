"""Gold vs proxy during PPO (issue 13): which model is gold, the evaluation every K steps on held-out prompts, the
Gao et al. curve (both scores in σ of the base policy against √KL), and the length-drift / collapse flags."""

from __future__ import annotations

import math

import pytest
import torch

from rlhf_demo.reward.gold import GoldChoice
from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.ppo.overopt import drift_flags, evaluate_gold, gold_peak, overopt_curve
from rlhf_demo.ppo.run import PPORun
from rlhf_demo.reward.gold import check_gold, default_gold, pairing_text
from tests.test_ppo import PROMPTS, CountReward, make_engine

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- which model is gold ----------------------------------------------------------------------------------------

MODELS = [{"name": "rm-votes", "n_train": 40, "created": 3.0}, {"name": "rm-all", "n_train": 1400, "created": 1.0},
          {"name": "rm-100", "n_train": 100, "created": 2.0}]


def test_default_gold_is_the_other_model_trained_on_the_most_pairs():
    assert default_gold(MODELS, proxy="rm-votes") == "rm-all"
    assert default_gold(MODELS, proxy="rm-all") == "rm-100"  # never the proxy, even when it has the most pairs
    assert default_gold(MODELS[:1], proxy="rm-votes") is None  # the proxy alone: no gold
    tie = [{"name": "old", "n_train": 50, "created": 1.0}, {"name": "new", "n_train": 50, "created": 2.0}]
    assert default_gold(tie, proxy=None) == "new"


def test_gold_and_proxy_are_never_the_same_model_unless_asked():
    with pytest.raises(ValueError, match="is the proxy"):
        check_gold("rm-a", "rm-a")
    check_gold("rm-a", "rm-a", allow_same=True)
    check_gold("rm-b", "rm-a")
    text = pairing_text({"name": "rm-a", "n_train": 40}, {"name": "rm-a", "n_train": 40})
    assert "only repeats the proxy" in text
    assert "No gold model yet" in pairing_text(None, {"name": "rm-a", "n_train": 40})


def test_the_pairing_says_when_gold_saw_fewer_pairs_than_the_proxy():
    """The Compare tab once said "gold is trained on more data" while gold had 104 pairs and the proxy 196."""
    weak = pairing_text({"name": "rm-gold", "n_train": 104}, {"name": "rm-proxy", "n_train": 196})
    assert "Gold was trained on fewer pairs (104) than the proxy (196)" in weak
    strong = pairing_text({"name": "rm-gold", "n_train": 400}, {"name": "rm-proxy", "n_train": 100})
    assert "fewer pairs" not in strong


class FakeRegistry:
    def __init__(self, models, active):
        self.models, self.active = models, active

    def exists(self, name):
        return any(m["name"] == name for m in self.models)

    def list(self):
        return list(self.models)


def test_the_gold_choice_is_kept_refuses_the_proxy_and_falls_back_when_it_goes(tmp_path):
    reg = FakeRegistry([dict(m) for m in MODELS], active="rm-votes")
    gold = GoldChoice(tmp_path / "gold.json", reg)
    assert gold.name() == "rm-all"  # default
    assert gold.set("rm-100") == "rm-100"
    assert GoldChoice(tmp_path / "gold.json", reg).name() == "rm-100"  # saved: survives a restart
    with pytest.raises(ValueError, match="is the proxy"):
        gold.set("rm-votes")
    with pytest.raises(ValueError, match="No saved reward model"):
        gold.set("nope")
    assert gold.name() == "rm-100"  # refusals changed nothing
    assert gold.set("rm-votes", allow_same=True) == "rm-votes"
    reg.active = "rm-100"  # another proxy: the chosen gold stays (it is not the proxy)
    assert gold.name() == "rm-votes"
    reg.models = [m for m in reg.models if m["name"] != "rm-votes"]  # the chosen gold was deleted
    assert gold.name() == "rm-all"
    gold.set("rm-all")
    reg.active = "rm-all"  # the chosen gold became the proxy (not asked for): the default takes over
    assert gold.name() == "rm-100"


# -- the curve and the flags (hand numbers) ---------------------------------------------------------------------

def row(step, kl, proxy, gold, sd=2.0):
    return {"step": step, "kl": kl, "proxy_raw": proxy, "gold_raw": gold, "proxy_raw_std": sd, "gold_raw_std": sd / 2}


def test_the_curve_is_in_sigmas_of_the_first_evaluation_against_root_kl():
    curve = overopt_curve([row(0, 0.0, 1.0, 5.0), row(5, 4.0, 3.0, 6.0), row(10, 9.0, 5.0, 4.5)])
    assert [c["sqrt_kl"] for c in curve] == [0.0, 2.0, 3.0]
    assert [c["proxy"] for c in curve] == [0.0, 1.0, 2.0]  # (raw - 1) / 2
    assert [c["gold"] for c in curve] == [0.0, 1.0, -0.5]  # (raw - 5) / 1
    assert overopt_curve([]) == []
    assert overopt_curve([row(0, -0.01, 1.0, 1.0, sd=0.0)])[0]["sqrt_kl"] == 0.0  # no sqrt of a negative, no /0


def test_gold_peak_says_whether_gold_turned_down_while_the_proxy_climbed():
    up_down = overopt_curve([row(0, 0, 0, 0), row(5, 1, 2, 1.0), row(10, 4, 4, 1.2), row(15, 9, 6, 0.6)])
    peak = gold_peak(up_down)
    assert peak["step"] == 10 and peak["turned_down"] and peak["drop"] == pytest.approx(0.6)
    still_rising = overopt_curve([row(0, 0, 0, 0), row(5, 1, 2, 0.5), row(10, 4, 4, 1.0)])
    assert not gold_peak(still_rising)["turned_down"]
    both_fall = overopt_curve([row(0, 0, 0, 0), row(5, 1, 4, 1.0), row(10, 4, 2, 0.2)])
    assert not gold_peak(both_fall)["turned_down"]  # the proxy fell too: not over-optimisation
    assert gold_peak(up_down[:2]) is None


def steps(lengths, entropies):
    return [{"val/mean_response_length": l, "objective/entropy": e} for l, e in zip(lengths, entropies)]


def test_drift_flags_name_length_drift_and_collapse_and_stay_quiet_otherwise():
    assert drift_flags(steps([10] * 8, [20] * 8)) == []
    assert drift_flags(steps([10] * 5, [20] * 5)) == []  # too few steps to compare the start with the end
    longer = drift_flags(steps([10, 10, 10, 12, 14, 16, 16, 16], [20] * 8))
    assert len(longer) == 1 and longer[0].startswith("length drift") and "10 to 16" in longer[0]
    at_limit = drift_flags(steps([20, 20, 20, 25, 31, 32, 32, 32], [20] * 8), response_length=32)
    assert at_limit and at_limit[0].startswith("length drift")  # 1.6x, and at the limit
    at_limit_only = drift_flags(steps([22, 22, 22, 31, 31, 31], [20] * 6), response_length=32)
    assert at_limit_only and at_limit_only[0].startswith("length drift")  # only 1.4x, but now at the 32-token limit
    collapsed = drift_flags(steps([10] * 8, [20, 20, 20, 15, 12, 9, 9, 9]))
    assert len(collapsed) == 1 and collapsed[0].startswith("collapse")
    assert drift_flags(steps([10] * 8, [20, 20, 20, 15, 12, 11, 11, 11])) == []  # 45 % lower: not yet half


# -- on a real (tiny) engine -------------------------------------------------------------------------------------

class LengthGold:
    """A 'gold' model that is not the proxy: it likes replies of about 4 words."""

    def __init__(self):
        self.calls = []

    def score(self, prompts, responses):
        self.calls.append(list(responses))
        return torch.tensor([-abs(len(r.split()) - 4.0) for r in responses])


def test_evaluate_gold_scores_the_same_replies_with_both_models_and_measures_kl():
    engine = make_engine(0, kl_coef=0.0)
    gold = LengthGold()
    first = evaluate_gold(engine, gold, PROMPTS, gold_name="g")
    again = evaluate_gold(engine, gold, PROMPTS, gold_name="g")
    assert first == again  # fixed seed: only a policy change moves the numbers
    replies = gold.calls[0]
    assert len(replies) == len(PROMPTS) and first["n"] == len(PROMPTS)
    assert first["gold_raw"] == pytest.approx(sum(-abs(len(r.split()) - 4.0) for r in replies) / len(replies))
    proxy = CountReward()
    assert first["proxy_raw"] == pytest.approx(proxy.score(PROMPTS, replies).mean().item(), abs=1e-6)
    assert first["kl"] == pytest.approx(0.0, abs=1e-6)  # step 0: the policy is the reference
    for _ in range(3):
        engine.step()
    later = evaluate_gold(engine, gold, PROMPTS, gold_name="g")
    assert later["step"] == 3 and later["kl"] > 1e-4  # trained: away from the reference


class Ctx:
    def check(self):
        pass

    def update(self, **kw):
        pass


def test_a_session_evaluates_at_step_zero_every_k_steps_and_at_the_end_and_keeps_it_over_a_restart(tmp_path):
    golds = {"name": "rm-gold"}

    def make(cfg, reward_name=None):
        return make_engine(0, kl_coef=0.0)

    def make_gold():
        return (golds["name"], LengthGold()) if golds["name"] else None

    def session():
        return PPORun(make_engine=make, checkpoint_dir=tmp_path / "ck", autosave_dir=tmp_path / "auto",
                          probe_prompts=tuple(PROMPTS[:1]), probe_every=100, make_gold=make_gold,
                          eval_prompts=tuple(PROMPTS), eval_every=2, config=PPOConfig())

    s = session()
    s.train(Ctx(), 5)
    view = s.view()
    assert [e["step"] for e in view.evals] == [0, 2, 4, 5] and view.gold_name == "rm-gold"
    curve = overopt_curve(view.evals)
    assert curve[0]["proxy"] == 0.0 and curve[0]["gold"] == 0.0 and all(math.isfinite(c["gold"]) for c in curve)
    restarted = session()
    restarted.resume()  # the autosave brings the curves back
    assert restarted.view().evals == view.evals
    golds["name"] = "rm-other"  # another gold model: its curve starts over where the policy is now
    restarted.train(Ctx(), 1)
    evals = restarted.view().evals  # the held-out rows stay (the PPO tab's verdict compares with step 0) ...
    assert [e["step"] for e in evals] == [0, 2, 4, 5, 6]
    assert [e["gold_name"] for e in evals] == [None, None, None, "rm-other", "rm-other"]  # ... the old gold's go
    assert [c["step"] for c in overopt_curve(evals)] == [5, 6]  # the new gold's curve starts where the policy is
    assert overopt_curve(evals)[0]["gold"] == 0.0
    golds["name"] = None  # no gold model: the proxy alone scores the held-out replies, and there is no gold curve
    restarted.reset()
    restarted.train(Ctx(), 2)
    evals = restarted.view().evals
    assert [e["step"] for e in evals] == [0, 2] and restarted.view().gold_name is None
    assert all(e["gold_raw"] is None and len(e["proxy_scores"]) == len(PROMPTS) for e in evals)
    assert overopt_curve(evals) == []


def test_the_eta_counts_the_held_out_evaluations_still_to_come(tmp_path):
    """A 5-step SmolLM2 run once promised 9 s at step 4, then took 29 s: step 5 also scores 32 held-out replies.
    The ETA now adds each evaluation to come (as long as the last one took), the run's final one included."""
    etas = []

    class Recording(Ctx):
        def update(self, **kw):
            if "step" in kw:
                etas.append((kw["eta_s"], run._eval_seconds))  # (the promise, the last evaluation's seconds)

    run = PPORun(make_engine=lambda cfg, reward_name=None: make_engine(0), checkpoint_dir=tmp_path / "ck",
                 probe_prompts=tuple(PROMPTS[:1]), probe_every=100, eval_prompts=tuple(PROMPTS), eval_every=2,
                 config=PPOConfig())
    run.train(Recording(), 5)  # evaluations at steps 0, 2, 4 and the final one at 5
    eta, last_eval = etas[-1]
    assert last_eval > 0 and eta == pytest.approx(last_eval)  # no step left, the final evaluation still to come
    assert [e["step"] for e in run.view().evals] == [0, 2, 4, 5]
