"""The before/after contest (issue 23): one head-to-head number with a Wilson interval, checked against a hand
count and against published Wilson intervals."""

import math

import pytest

from rlhf_demo.arena.ranking import head_to_head, wilson_interval
from rlhf_demo.arena.votes import VoteStore

# (model_a, model_b, outcome): the seats vary, and battles against a third contestant must not count
RECORDS = [
    ("base-t0.7", "ppo-step5", "B"),  # ppo wins
    ("ppo-step5", "base-t0.7", "A"),  # ppo wins
    ("ppo-step5", "base-t0.7", "B"),  # base wins
    ("base-t0.7", "ppo-step5", "tie"),
    ("ppo-step5", "base-t0.7", "both_bad"),  # says nothing about which is better: a tie
    ("base-t0.7", "base-t1.0", "B"),  # not between the two
    ("ppo-step5", "base-t1.0", "A"),  # not between the two
    ("base-t0.7", "ppo-step5", "B"),  # ppo wins
]


def test_head_to_head_matches_a_hand_count():
    h = head_to_head(RECORDS, "base-t0.7", "ppo-step5")
    # by hand: ppo won rows 1, 2 and 8; base won row 3; rows 4 and 5 are ties; rows 6 and 7 are other pairs
    assert (h.a, h.b, h.wins_a, h.wins_b, h.ties, h.n) == ("base-t0.7", "ppo-step5", 1, 3, 2, 6)
    assert h.rate_b == pytest.approx((3 + 2 / 2) / 6)
    assert (h.low, h.high) == pytest.approx(wilson_interval(4, 6))
    assert h.low < h.rate_b < h.high and h.confidence == 0.95


def test_head_to_head_from_the_other_side_is_the_mirror_image():
    h, m = head_to_head(RECORDS, "base-t0.7", "ppo-step5"), head_to_head(RECORDS, "ppo-step5", "base-t0.7")
    assert (m.wins_a, m.wins_b, m.ties, m.n) == (h.wins_b, h.wins_a, h.ties, h.n)
    assert m.rate_b == pytest.approx(1 - h.rate_b)
    assert (m.low, m.high) == pytest.approx((1 - h.high, 1 - h.low))


def test_head_to_head_without_battles_between_them_is_empty():
    h = head_to_head(RECORDS, "base-t1.0", "ppo-step9")
    assert (h.wins_a, h.wins_b, h.ties, h.n) == (0, 0, 0, 0)
    assert math.isnan(h.rate_b) and math.isnan(h.low) and math.isnan(h.high)
    assert head_to_head([], "x", "y").n == 0


@pytest.mark.parametrize("successes,n,low,high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat. Med. 17, Table II, method 3
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_published_values(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_is_not_zero_wide_at_three_out_of_three():
    low, high = wilson_interval(3, 3)
    assert high == 1.0 and 0.3 < low < 0.5  # 3 wins of 3 do not yet prove that the checkpoint is better
    assert wilson_interval(3, 3, confidence=0.8)[0] > low  # a lower confidence, a narrower interval
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_head_to_head_reads_stored_votes(tmp_path):
    with VoteStore(tmp_path / "v.db") as store:
        for a, b, o in RECORDS:
            r = store.add_round("\n\nHuman: q\n\nAssistant:", a, b, "ra", "rb", "s", {})
            store.add_vote(r.round_id, o, voter_id="s")
        h = head_to_head(store.votes(), "base-t0.7", "ppo-step5")
    assert (h.wins_a, h.wins_b, h.ties, h.n) == (1, 3, 2, 6)
