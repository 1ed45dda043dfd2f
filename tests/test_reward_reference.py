"""Reward scores relative to something meaningful (issue 12, item 6): mean/std of the held-out replies' scores,
and a score in σ from it."""

from __future__ import annotations

import statistics

import pytest

from rlhf_demo.data.browse import longer_reply_wins, shorter_reply_wins
from rlhf_demo.reward.reference import describe, relative, score_reference


def test_reference_is_the_mean_and_population_std():
    xs = [-3.0, -1.0, -2.0, -6.0, 0.5]
    ref = score_reference(xs)
    assert ref["n"] == 5
    assert ref["mean"] == pytest.approx(statistics.fmean(xs), abs=1e-6)
    assert ref["std"] == pytest.approx(statistics.pstdev(xs), abs=1e-6)
    assert score_reference([]) is None


def test_scores_in_sigma_units_and_their_words():
    ref = {"mean": -2.0, "std": 0.5, "n": 800}
    assert relative(-1.6, ref) == pytest.approx(0.8)
    assert describe(relative(-1.6, ref)) == "0.8 σ above an average held-out reply"
    assert describe(relative(-2.5, ref)) == "1.0 σ below an average held-out reply"  # no "-1.0 σ below": one negation
    assert relative(1.0, None) is None and relative(1.0, {"mean": 0, "std": 0, "n": 2}) is None
    assert "no reference" in describe(None)


def test_both_length_baselines_add_up_to_one():
    pairs = [("a b c", "a"), ("a", "a b"), ("a b", "c d"), ("x y z w", "x")]
    assert shorter_reply_wins(pairs) == pytest.approx((0 + 1 + 0.5 + 0) / 4)
    assert longer_reply_wins(pairs) == pytest.approx((1 + 0 + 0.5 + 1) / 4)
