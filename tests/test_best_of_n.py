"""Best-of-N (rlhf_demo/frontier/best_of_n.py): the closed-form KL, the selection, shared prefixes, the measured KL,
and a run on the shipped tiny policy."""

import itertools
import math
import random

import pytest

from rlhf_demo.frontier.best_of_n import (best_of_n, bon_kl, measured_bon_kl, prompt_bon_kl, run_best_of_n,
                                         select_best)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPTS = [f"\n\nHuman: question {i}?\n\nAssistant:" for i in range(5)]


def fake_generate(rows, seed):
    """Seeded replies: 'r<k>' with k random, so the fake score (k) is known from the text."""
    rng = random.Random(seed)
    return [f"r{rng.randrange(1000)}" for _ in rows]


def fake_score(prompts, replies):
    assert len(prompts) == len(replies)
    return [float(int(r[1:])) for r in replies]


# ---------------------------------------------------------------------------------------------------- closed form


def test_closed_form_known_values_monotone_and_below_log_n():
    assert bon_kl(1) == 0.0
    assert bon_kl(2) == pytest.approx(math.log(2) - 0.5)
    assert bon_kl(4) == pytest.approx(math.log(4) - 0.75)
    assert bon_kl(16) == pytest.approx(math.log(16) - 15 / 16)
    values = [bon_kl(n) for n in range(1, 200)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert all(0 <= bon_kl(n) < math.log(n) for n in range(2, 200))
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError):
            bon_kl(bad)


# ---------------------------------------------------------------------------------------------------- selection


def test_best_of_n_keeps_the_argmax_and_is_seeded():
    calls = []

    def generate(rows, seed):
        calls.append(list(rows))
        return fake_generate(rows, seed)

    res = best_of_n(generate, fake_score, PROMPTS, 4, seed=7)
    assert calls == [[p for p in PROMPTS for _ in range(4)]]  # each prompt n times in a row, one call
    replies = fake_generate(calls[0], 7)
    assert len(res) == len(PROMPTS)
    for i, r in enumerate(res):
        mine = replies[4 * i: 4 * i + 4]
        scores = [float(int(x[1:])) for x in mine]
        assert r["prompt"] == PROMPTS[i] and r["replies"] == mine and r["scores"] == scores
        assert r["index"] == scores.index(max(scores)) and r["reply"] == mine[r["index"]] and r["score"] == max(scores)
    assert best_of_n(fake_generate, fake_score, PROMPTS, 4, seed=7) == res
    assert best_of_n(fake_generate, fake_score, PROMPTS, 4, seed=8) != res


def test_ties_go_to_the_first_maximum_and_tensor_scores_are_accepted():
    import torch

    res = best_of_n(lambda rows, seed: ["a", "b", "c"] * (len(rows) // 3), lambda p, r: torch.tensor([1.0, 3.0, 3.0]),
                    ["p"], 3, seed=0)
    assert res[0]["index"] == 1 and res[0]["reply"] == "b" and res[0]["score"] == 3.0
    assert isinstance(res[0]["scores"][0], float)


def test_wrong_counts_are_clear_errors():
    with pytest.raises(ValueError, match="generate returned"):
        best_of_n(lambda rows, seed: ["x"], fake_score, PROMPTS, 2)
    with pytest.raises(ValueError, match="score returned"):
        best_of_n(fake_generate, lambda p, r: [1.0], PROMPTS, 2)
    with pytest.raises(ValueError, match="needs 8 samples"):
        select_best(["p"], ["a"] * 4, [0.0] * 4, 8, group=4)


def test_best_of_4_from_a_prefix_equals_best_of_4_on_those_samples():
    sixteen = best_of_n(fake_generate, fake_score, PROMPTS, 16, seed=3)
    replies = [r for s in sixteen for r in s["replies"]]
    scores = [x for s in sixteen for x in s["scores"]]
    from_prefix = select_best(PROMPTS, replies, scores, 4, group=16)
    first_four = [r for s in sixteen for r in s["replies"][:4]]
    direct = best_of_n(lambda rows, seed: first_four, fake_score, PROMPTS, 4, seed=3)
    assert from_prefix == direct
    # and the kept score never drops as N grows over the same samples
    for i in range(len(PROMPTS)):
        kept = [select_best(PROMPTS, replies, scores, n, group=16)[i]["score"] for n in range(1, 17)]
        assert kept == sorted(kept)


# ---------------------------------------------------------------------------------------------------- measured KL


def brute_force_kl(scores, n, replies=None):
    """KL(best-of-n || base) over score levels, the base being uniform over the m samples, by enumerating all m^n
    draws of n sample indices (equal replies take the first copy's score, so they form one level)."""
    m = len(scores)
    if replies is not None:
        first = {}
        scores = [first.setdefault(r, s) for r, s in zip(replies, scores)]
    p = {}
    for s in scores:
        p[s] = p.get(s, 0) + 1 / m
    q = {}
    for draw in itertools.product(range(m), repeat=n):
        best = max(scores[j] for j in draw)
        q[best] = q.get(best, 0) + 1 / m ** n
    return sum(q[l] * math.log(q[l] / p[l]) for l in q if q[l] > 0)


@pytest.mark.parametrize("scores,n", [
    ([0.3, -1.0, 2.5, 0.7], 1),
    ([0.3, -1.0, 2.5, 0.7], 2),
    ([0.3, -1.0, 2.5, 0.7, 1.1], 3),
    ([1.0, 1.0, 2.0, 0.0, 2.0], 3),  # ties
    ([5.0, 5.0, 5.0], 4),  # one level: best-of-n is the base policy
    ([0.1, 0.2], 5),  # n > m
])
def test_measured_kl_matches_brute_force_enumeration(scores, n):
    assert prompt_bon_kl(scores, n) == pytest.approx(brute_force_kl(scores, n), abs=1e-12)


def test_measured_kl_merges_equal_replies_and_averages_over_prompts():
    scores, replies = [1.0, 1.0000001, 0.5, 2.0], ["same", "same", "x", "y"]  # batching nudged a copy's score
    merged = prompt_bon_kl(scores, 3, replies)
    assert merged == pytest.approx(brute_force_kl(scores, 3, replies), abs=1e-12)
    assert merged != pytest.approx(prompt_bon_kl(scores, 3))
    per = [[0.1, 0.4, 0.2, 0.9], [1.0, 1.0, 1.0, 0.0]]
    assert measured_bon_kl(per, 2) == pytest.approx((brute_force_kl(per[0], 2) + brute_force_kl(per[1], 2)) / 2)


def test_measured_kl_is_below_the_closed_form_and_tends_to_it():
    for n in (1, 2, 4, 8, 16):
        distinct = prompt_bon_kl(list(range(16)), n)
        assert distinct <= bon_kl(n) + 1e-12
        assert prompt_bon_kl([0.0] * 8 + list(range(8)), n) <= distinct + 1e-12  # repeats lower it
        rng = random.Random(n)
        assert prompt_bon_kl([rng.random() for _ in range(4000)], n) == pytest.approx(bon_kl(n), abs=2e-3)
    assert prompt_bon_kl(list(range(16)), 1) == 0.0


# ---------------------------------------------------------------------------------------------------- real policy


@pytest.fixture(scope="module")
def tiny_policy():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlhf_demo.paths import TINY_POLICY_DIR

    return AutoModelForCausalLM.from_pretrained(TINY_POLICY_DIR).eval(), AutoTokenizer.from_pretrained(TINY_POLICY_DIR)


class LengthScorer:
    """A fake reward model: longer replies are better."""

    def __init__(self):
        self.calls = 0

    def score(self, prompts, replies):
        self.calls += 1
        return [float(len(r)) for r in replies]


HELD_OUT = ["\n\nHuman: How can I be a better friend?\n\nAssistant:",
            "\n\nHuman: Can you explain how rainbows form?\n\nAssistant:",
            "\n\nHuman: Is it okay to skip breakfast?\n\nAssistant:"]


def test_run_best_of_n_on_the_tiny_policy_with_a_fake_scorer(tiny_policy):
    model, tok = tiny_policy
    scorer = LengthScorer()
    rows, samples = run_best_of_n(model, tok, scorer, HELD_OUT, ns=(1, 2, 4, 8, 16), seed=0, max_new_tokens=24,
                                  return_samples=True)
    assert scorer.calls == 1 and [len(s["replies"]) for s in samples] == [16] * 3  # one generation of 16 per prompt
    assert [r["n"] for r in rows] == [1, 2, 4, 8, 16]
    assert [r["name"] for r in rows] == ["best-of-1", "best-of-2", "best-of-4", "best-of-8", "best-of-16"]
    for r in rows:
        assert r["method"] == "best-of-n" and r["kl"] == bon_kl(r["n"])
        assert 0 <= r["kl_measured"] <= r["kl"] + 1e-12
        expected = sum(max(len(x) for x in s["replies"][: r["n"]]) for s in samples) / len(samples)
        assert r["proxy"] == pytest.approx(expected)
    assert rows[0]["kl_measured"] == 0.0
    proxies = [r["proxy"] for r in rows]
    assert proxies == sorted(proxies) and proxies[-1] > proxies[0]
    # seeded: the same call gives the same rows
    assert run_best_of_n(model, tok, LengthScorer(), HELD_OUT, ns=(1, 2, 4, 8, 16), seed=0, max_new_tokens=24) == rows


def test_run_best_of_n_with_a_reward_model(tiny_policy, tiny_bert):
    from rlhf_demo.reward.model import RewardModel, RewardScorer, load_backbone

    model, tok = tiny_policy
    rm_model, rm_tok = load_backbone(tiny_bert)
    scorer = RewardModel(rm_model, rm_tok, max_length=64)
    assert isinstance(scorer, RewardScorer)
    rows = run_best_of_n(model, tok, scorer, HELD_OUT[:2], ns=(4, 1, 2), seed=1, max_new_tokens=16)
    assert [r["n"] for r in rows] == [4, 1, 2]
    by_n = {r["n"]: r for r in rows}
    assert by_n[1]["proxy"] <= by_n[2]["proxy"] <= by_n[4]["proxy"]
    assert all(r["kl"] == bon_kl(r["n"]) and math.isfinite(r["kl_measured"]) for r in rows)
