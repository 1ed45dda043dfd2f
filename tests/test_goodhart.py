"""The gold-labelled proxy's pure helpers (`frontier/goodhart.py`), each against an independent computation."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import random

import pytest

from rlhf_demo.frontier.goodhart import (as_pairs, bon_expected, bon_weights, drop_at_kl, drop_from_peak, fit_bon,
                                         in_sigma, label_pairs, preference_records, sample_pairs)


def brute_force_bon(proxy, values, n):
    """The mean over every n-subset of the value of the subset's proxy-best sample (ties: the earlier one)."""
    subsets = list(itertools.combinations(range(len(proxy)), n))
    total = 0.0
    for sub in subsets:
        best = max(sub, key=lambda j: (proxy[j], -j))
        total += values[best]
    return total / len(subsets)


@pytest.mark.parametrize("m", [1, 2, 5, 8])
def test_bon_weights_are_a_distribution_on_the_top_ranks(m):
    for n in range(1, m + 1):
        w = bon_weights(m, n)
        assert math.isclose(sum(w), 1.0) and all(x >= 0 for x in w)
        assert all(x == 0 for x in w[: n - 1])  # the n-1 lowest samples are never the best of n
    assert bon_weights(m, m)[-1] == 1.0
    with pytest.raises(ValueError):
        bon_weights(m, m + 1)


def test_bon_expected_equals_enumerating_every_subset():
    rng = random.Random(3)
    for m in (3, 6, 9):
        proxy = [rng.choice([0.1, 0.5, 0.9, rng.random()]) for _ in range(m)]  # with ties
        gold = [rng.gauss(0, 1) for _ in range(m)]
        for n in range(1, m + 1):
            assert bon_expected(proxy, gold, n) == pytest.approx(brute_force_bon(proxy, gold, n), abs=1e-12)
    # best-of-1 is the plain mean; best-of-m the proxy's argmax
    assert bon_expected([3, 1, 2], [10, 20, 30], 1) == pytest.approx(20)
    assert bon_expected([3, 1, 2], [10, 20, 30], 3) == 10


def test_fit_bon_recovers_the_curve_and_its_peak():
    ds = [0.0, 0.5, 1.0, 1.5, 2.0]
    fit = fit_bon(ds, [d * (1.2 - 0.5 * d) for d in ds])
    assert fit["alpha"] == pytest.approx(1.2) and fit["beta"] == pytest.approx(0.5)
    assert fit["peak_d"] == pytest.approx(1.2) and fit["peak_gold"] == pytest.approx(1.2 * 1.2 - 0.5 * 1.2 ** 2)
    rising = fit_bon(ds, [d * (1.0 + 0.1 * d) for d in ds])
    assert rising["beta"] < 0 and rising["peak_d"] is None
    with pytest.raises(ValueError):
        fit_bon([1.0], [1.0])


def test_label_pairs_follow_gold_drop_ties_and_flip_the_asked_share():
    rows = [{"prompt": f"p{i}", "a": f"a{i}", "b": f"b{i}"} for i in range(4000)]
    rng = random.Random(0)
    ga = [rng.random() for _ in rows]
    gb = [rng.random() for _ in rows]
    rows[0]["b"] = rows[0]["a"]  # two equal replies: no preference
    gb[1] = ga[1]  # an exact gold tie: no preference
    clean = label_pairs(rows, ga, gb, 0.0)
    assert len(clean) == len(rows) - 2 and not any(r["flipped"] for r in clean)
    for r in clean:
        i = int(r["prompt"][1:])
        assert r["chosen"] == (rows[i]["a"] if ga[i] > gb[i] else rows[i]["b"])
    noisy = label_pairs(rows, ga, gb, 0.25, seed=1)
    flipped = [r for r in noisy if r["flipped"]]
    assert 0.22 < len(flipped) / len(noisy) < 0.28
    by_prompt = {r["prompt"]: r for r in clean}
    assert all(r["chosen"] == by_prompt[r["prompt"]]["rejected"] for r in flipped)
    with pytest.raises(ValueError, match="noise"):
        label_pairs(rows, ga, gb, 0.5)


def test_the_labelled_set_is_an_ordinary_preference_file(tmp_path):
    from rlhf_demo.data.sources import LocalSource

    labelled = [{"prompt": "\n\nHuman: Hi there?\n\nAssistant:", "chosen": "Hello!", "rejected": "Go away.",
                 "margin": 1.0, "flipped": False}] * 12
    path = tmp_path / "labelled.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in preference_records(labelled))
    ps = LocalSource(path).load()
    assert len(ps) == 12 and ps.pairs[0].chosen == "Hello!" and ps.pairs[0].rejected == "Go away."
    assert as_pairs(labelled)[0] == (labelled[0]["prompt"], "Hello!", "Go away.")


def test_sample_pairs_gives_two_seeded_replies_per_prompt():
    calls = []

    def generate(rows, seed):
        calls.append((len(rows), seed))
        return [f"{r}-{seed}-{i}" for i, r in enumerate(rows)]

    out = sample_pairs(generate, ["x", "y", "z"], seed=10, batch=4)
    assert calls == [(4, 10), (2, 11)]
    assert [(o["prompt"], o["a"], o["b"]) for o in out] == [("x", "x-10-0", "x-10-1"), ("y", "y-10-2", "y-10-3"),
                                                            ("z", "z-11-0", "z-11-1")]


def test_drop_from_the_peak_and_at_equal_kl():
    pts = [{"kl": 0.0, "proxy": 0.0, "gold": 0.0}, {"kl": 1.0, "proxy": 0.5, "gold": 0.6},
           {"kl": 2.0, "proxy": 1.0, "gold": 0.4}, {"kl": 4.0, "proxy": 1.5, "gold": -0.2}]
    d = drop_from_peak(pts)
    assert d["peak_kl"] == 1.0 and d["drop"] == pytest.approx(0.8) and d["proxy_rise"] == pytest.approx(1.0)
    assert drop_at_kl(pts, 1.0) == 0.0  # still at the peak
    assert drop_at_kl(pts, 3.0) == pytest.approx(0.6 - 0.1)  # gold interpolated halfway from 0.4 to -0.2
    assert drop_at_kl(pts, 9.0) == pytest.approx(0.8)
    assert drop_from_peak(pts[:1]) is None


def test_in_sigma_is_in_units_of_the_base_spread():
    base = [1.0, 3.0]
    assert in_sigma([2.0, 4.0], base) == [0.0, 2.0]
    assert in_sigma([5.0], [5.0, 5.0]) == [0.0]
