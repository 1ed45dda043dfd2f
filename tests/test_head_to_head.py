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


# ------------------------------------------------------------------------------------------ on the Vote tab


def test_the_pair_is_the_newest_checkpoint_and_the_base_at_its_temperature():
    from rlhf_demo.arena.contestants import DEFAULT_CONTESTANTS, Contestant, best_of_contestant
    from rlhf_demo.ui.vote_view import before_after_pair

    playing = [*DEFAULT_CONTESTANTS, best_of_contestant(8), Contestant("ppo-step5", 0.7, "/ckpt/5"),
               Contestant("hot", 1.0, "/ckpt/hot")]
    checkpoints = [{"name": "ppo-step2", "saved": "2025-01-01 10:00:00"}, {"name": "ppo-step5", "saved": "2025-01-01 10:05:00"}]
    assert before_after_pair(checkpoints, playing) == ("base-t0.7", "ppo-step5")  # not best-of-8, also at 0.7
    assert before_after_pair([{"name": "hot"}], playing) == ("base-t1.0", "hot")
    assert before_after_pair([{"name": "gone"}], playing) == ("base-t0.7", "gone")  # not playing: checkpoints play at 0.7
    assert before_after_pair([], playing) is None


@pytest.mark.parametrize("records,verdict", [
    ([("base-t0.7", "ppo-step5", "B")] * 12 + [("base-t0.7", "ppo-step5", "A")] * 2, "PPO helped"),
    ([("base-t0.7", "ppo-step5", "A")] * 12 + [("base-t0.7", "ppo-step5", "B")] * 2, "PPO made it worse"),
    ([("base-t0.7", "ppo-step5", "B")] * 9 + [("base-t0.7", "ppo-step5", "A")] * 5, "not clear yet"),
])
def test_the_sentence_says_the_rate_the_interval_the_votes_and_the_verdict(records, verdict):
    from rlhf_demo.ui.vote_view import before_after_data, before_after_markdown

    pair = ("base-t0.7", "ppo-step5")
    h = head_to_head(records, *pair)
    text = before_after_markdown(pair, h)
    low, high = wilson_interval(h.wins_b + h.ties / 2, h.n)
    assert text.startswith("**Before vs after:** ppo-step5 beat base-t0.7 in ")
    assert f"**{100 * h.rate_b:.0f} %** of 14 votes" in text
    assert f"(95 % interval {100 * low:.0f}–{100 * high:.0f} %)" in text and text.endswith(f"**{verdict}**.")
    data = before_after_data(pair, h)
    assert (data["a"], data["b"], data["n"], data["verdict"]) == ("base-t0.7", "ppo-step5", 14, verdict)


def test_the_sentence_before_any_checkpoint_or_vote_between_them():
    from rlhf_demo.ui.vote_view import before_after_data, before_after_markdown

    assert "no PPO checkpoint yet" in before_after_markdown(None, None) and before_after_data(None, None) is None
    pair = ("base-t0.7", "ppo-step5")
    h = head_to_head(RECORDS[5:7], *pair)  # votes, but none between the two
    assert "no votes yet between base-t0.7 and ppo-step5" in before_after_markdown(pair, h)
    data = before_after_data(pair, h)
    assert data["n"] == 0 and data["rate_b"] is None and data["verdict"] is None
    ties = before_after_markdown(pair, head_to_head(RECORDS, *pair))
    assert "of 6 votes" in ties and "2 ties counted half" in ties
