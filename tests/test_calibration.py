"""Agreement statistics (textbook kappas, independent loops) and calibration sets (items, store, statistics)."""

from __future__ import annotations

import math
import random
from itertools import combinations, permutations

import numpy as np
import pytest

from rlhf_demo.arena import agreement as ag
from rlhf_demo.arena.calibration import (
    CalibrationError,
    CalibrationItem,
    CalibrationStore,
    calibration_stats,
    draw_items,
    length_baselines,
)
from rlhf_demo.arena.votes import VoteStore
from rlhf_demo.data.browse import n_words
from rlhf_demo.data.hh import load_jsonl

# ------------------------------------------------------------------------------------------ Fleiss' kappa

# Wikipedia's worked example ("Fleiss' kappa"): 10 items, 14 raters each, 5 categories. P_bar = 0.378,
# P_e = 0.213, kappa = 0.210.
WIKI_TABLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
              [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_kappa_on_wikipedias_worked_example():
    f = ag.fleiss_from_counts(WIKI_TABLE)
    assert f.n_items == 10
    assert round(f.p_bar, 3) == 0.378 and round(f.p_e, 3) == 0.213 and round(f.kappa, 3) == 0.210
    # the same table as per-rater verdicts gives the same number
    ratings = {i: {f"r{k}": cat for k, cat in enumerate(c for c, n in enumerate(row) for _ in range(n))}
               for i, row in enumerate(WIKI_TABLE)}
    assert ag.fleiss_kappa(ratings).kappa == pytest.approx(f.kappa)


def fleiss_by_loop(ratings):
    """Independent reference: P_i by counting agreeing ORDERED rater pairs, p_j by counting ratings."""
    items = [v for v in ratings.values() if len(v) >= 2]
    if not items:
        return float("nan")
    p_i = []
    for verdicts in items:
        vals = list(verdicts.values())
        pairs = list(permutations(range(len(vals)), 2))
        p_i.append(sum(vals[a] == vals[b] for a, b in pairs) / len(pairs))
    every = [c for v in items for c in v.values()]
    p_e = sum((every.count(c) / len(every)) ** 2 for c in set(every))
    return (np.mean(p_i) - p_e) / (1 - p_e) if p_e < 1 else float("nan")


def random_ratings(rng, n_items=8, raters="abcdefg", cats="AB", skip=0.3):
    return {i: {r: rng.choice(cats) for r in raters if rng.random() > skip} for i in range(n_items)}


def test_fleiss_kappa_matches_a_loop_with_unequal_raters_per_item():
    rng = random.Random(0)
    for _ in range(50):
        ratings = random_ratings(rng, cats=rng.choice(["AB", ["A", "B", "tie"]]))
        got, want = ag.fleiss_kappa(ratings).kappa, fleiss_by_loop(ratings)
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)


def test_fleiss_edge_cases():
    assert math.isnan(ag.fleiss_kappa({}).kappa)
    assert math.isnan(ag.fleiss_kappa({0: {"a": "A"}}).kappa)  # nobody to agree with
    assert math.isnan(ag.fleiss_kappa({0: {"a": "A", "b": "A"}, 1: {"a": "A", "b": "A"}}).kappa)  # P_e = 1
    assert ag.fleiss_kappa({0: {"a": "A", "b": "A"}, 1: {"a": "B", "b": "B"}}).kappa == pytest.approx(1.0)
    # perfect disagreement with two raters, two categories used equally: P_bar = 0, P_e = 1/2 -> -1
    assert ag.fleiss_kappa({0: {"a": "A", "b": "B"}, 1: {"a": "B", "b": "A"}}).kappa == pytest.approx(-1.0)


# ------------------------------------------------------------------------------------------ Cohen's kappa


def test_cohen_kappa_on_wikipedias_example():
    """50 grant proposals: both yes 20, A yes / B no 5, A no / B yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4."""
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4)


def cohen_by_loop(a, b):
    n = len(a)
    p_o = sum(1 for i in range(n) if a[i] == b[i]) / n
    p_e = 0.0
    for c in set(a) | set(b):
        p_e += (sum(1 for x in a if x == c) / n) * (sum(1 for y in b if y == c) / n)
    return (p_o - p_e) / (1 - p_e) if p_e < 1 else float("nan")


def test_pairwise_cohen_matches_a_loop_and_its_mean():
    rng = random.Random(2)
    ratings = random_ratings(rng, n_items=10, raters="abcde", cats=["A", "B", "tie"], skip=0.2)
    res = ag.pairwise_cohen(ratings)
    want = {}
    for r1, r2 in combinations("abcde", 2):
        shared = [i for i in ratings if r1 in ratings[i] and r2 in ratings[i]]
        if len(shared) >= 2:
            want[(r1, r2)] = cohen_by_loop([ratings[i][r1] for i in shared], [ratings[i][r2] for i in shared])
    assert res.kappas.keys() == want.keys()
    for k in want:
        assert (math.isnan(want[k]) and math.isnan(res.kappas[k])) or res.kappas[k] == pytest.approx(want[k])
    defined = [k for k in want.values() if not math.isnan(k)]
    assert res.mean == pytest.approx(np.mean(defined)) and res.n_pairs == len(defined)


def test_cohen_edge_cases():
    assert math.isnan(ag.cohen_kappa([], []))
    assert math.isnan(ag.cohen_kappa(["A", "A"], ["A", "A"]))  # one category only: no chance level
    with pytest.raises(ValueError, match="same items"):
        ag.cohen_kappa(["A"], ["A", "B"])
    assert math.isnan(ag.pairwise_cohen({0: {"a": "A", "b": "B"}}).mean)  # one shared item: below min_shared


# ------------------------------------------------------------------------------------------ percent / label


def test_percent_agreement_and_majority_agreement_by_hand():
    ratings = {0: {"a": "A", "b": "A", "c": "B"},  # pairs: ab agree, ac, bc not -> 1/3
               1: {"a": "tie", "b": "tie"},  # 1/1
               2: {"a": "B"}}  # one rater: no pair
    pa = ag.percent_agreement(ratings)
    assert (pa.rate, pa.n_items, pa.n_pairs) == (pytest.approx(2 / 4), 2, 4)
    labels = {0: "A", 1: "B", 2: "A"}
    # item 0: majority A = label -> 1; item 1: only ties -> 1/2; item 2: B != A -> 0
    assert ag.majority_agreement(ratings, labels) == (pytest.approx(0.5), 3)
    assert math.isnan(ag.majority_agreement({}, {}).rate)


# ------------------------------------------------------------------------------------------ drawing items


@pytest.fixture(scope="module")
def pairs(sample_path):
    return load_jsonl(sample_path).pairs


def test_items_are_deterministic_short_and_sides_are_shuffled(pairs):
    items = draw_items(pairs, k=10, seed=0)
    assert items == draw_items(pairs, k=10, seed=0)
    assert items != draw_items(pairs, k=10, seed=1)
    assert len({it.pair_index for it in items}) == 10
    by_index = {p.index: p for p in pairs}
    for it in items:
        p = by_index[it.pair_index]
        assert it.prompt == p.prompt and len(it.prompt) <= 600
        assert max(n_words(it.reply_a), n_words(it.reply_b)) <= 60
        chosen = it.reply_a if it.chosen == "A" else it.reply_b
        rejected = it.reply_b if it.chosen == "A" else it.reply_a
        assert (chosen, rejected) == (p.chosen.strip(), p.rejected.strip())
        assert "chosen" not in it.public()
    sides = [it.chosen for it in draw_items(pairs, k=30, seed=0)]
    assert 5 <= sides.count("A") <= 25  # a seeded coin per item, not always the same side


def test_item_count_is_bounded_and_a_tiny_data_set_is_refused(pairs):
    for k in (2, 31):
        with pytest.raises(CalibrationError, match="3 to 30"):
            draw_items(pairs, k=k)
    with pytest.raises(CalibrationError, match="only 3 pairs"):
        draw_items(pairs[:3], k=5)
    assert len(draw_items(pairs[:4], k=4, max_words=1)) == 4  # too few short ones: the shortest instead


# ------------------------------------------------------------------------------------------ the store


def items(n=4):
    return [CalibrationItem(i, f"\n\nHuman: q{i}?\n\nAssistant:", "short", "a much longer reply", "AB"[i % 2])
            for i in range(n)]


def test_one_active_set_judgements_kept_and_persisted(tmp_path):
    path = tmp_path / "votes.sqlite"
    with VoteStore(path) as votes:
        cal = CalibrationStore(votes)
        assert cal.active() is None and cal.active_key() == (None, 0)
        s1 = cal.start(items(), seed=0, source="test")
        cal.judge(s1.set_id, 0, "sess", "Ada", "A")
        cal.judge(s1.set_id, 0, "sess", "", "B")  # another name on the same phone: another voter
        with pytest.raises(CalibrationError, match="already judged item 1"):
            cal.judge(s1.set_id, 0, "sess", " Ada ", "tie")
        for bad_item in (-1, 4, "0", True):
            with pytest.raises(CalibrationError, match="not in this calibration set"):
                cal.judge(s1.set_id, bad_item, "x", "", "A")
        with pytest.raises(CalibrationError, match="must be one of A, B, tie"):
            cal.judge(s1.set_id, 1, "x", "", "both_bad")
        assert cal.judged_items(s1.set_id, "sess", "Ada") == {0}
        s2 = cal.start(items(3), seed=1, source="test")  # ends s1
        assert cal.active().set_id == s2.set_id and cal.active_key() == (s2.set_id, 0)
        with pytest.raises(CalibrationError, match="no longer active"):
            cal.judge(s1.set_id, 1, "sess", "Ada", "A")
    with VoteStore(path) as votes:  # after a reopen: both sets, the old one ended with its judgements
        cal = CalibrationStore(votes)
        assert cal.active().items == tuple(items(3))
        old = cal.get(s1.set_id)
        assert old.ended_at is not None and old.items == tuple(items())
        assert [(j.voter_name, j.outcome) for j in cal.judgements(s1.set_id)] == [("Ada", "A"), ("", "B")]


def test_statistics_of_a_set(tmp_path):
    with VoteStore(tmp_path / "v.sqlite") as votes:
        cal = CalibrationStore(votes)
        s = cal.start(items(4), seed=0, source="test")  # labels A, B, A, B
        verdicts = {"ann": "ABAB", "ben": "ABAA", "cid": "ABB"}  # cid stopped after 3 items
        for voter, vs in verdicts.items():
            for i, v in enumerate(vs):
                cal.judge(s.set_id, i, voter, "", v)
        st = calibration_stats(s, cal.judgements(s.set_id))
    ratings = {i: {v: vs[i] for v, vs in verdicts.items() if i < len(vs)} for i in range(4)}
    assert (st["voters"], st["finished_voters"], st["judgements"]) == (3, 2, 11)
    assert st["percent_agreement"] == pytest.approx(ag.percent_agreement(ratings).rate)
    assert st["fleiss_kappa"] == pytest.approx(fleiss_by_loop(ratings))
    assert st["cohen_kappa_mean"] == pytest.approx(ag.pairwise_cohen(ratings).mean)
    # majorities: A (=A), B (=B), A 2:1 (=A), item 3: A vs B one each -> 1/2
    assert st["label_agreement"] == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    # A is always the short reply; the label is A on items 0 and 2 only: shorter wins half the items
    assert (st["shorter_wins"], st["longer_wins"]) == (0.5, 0.5) == length_baselines(items(4))
    assert length_baselines(items(4)[::2]) == (1.0, 0.0)


def test_the_chart_is_a_png_with_text_of_at_least_14_px(tmp_path):
    from PIL import Image

    from rlhf_demo.ui.calibration_view import chart, chart_bars
    from rlhf_demo.ui.plots import PLOT_DPI, PLOT_PT

    assert PLOT_PT * PLOT_DPI / 72 >= 14  # every text of the chart uses PLOT_PT (rc_context) at PLOT_DPI
    st = {"label_agreement": 0.6, "percent_agreement": float("nan"), "shorter_wins": 0.4, "longer_wins": 0.6}
    rm = {"name": None, "accuracy": None, "shorter": None, "longer": None}
    bars = chart_bars(st, rm)
    assert [round(v, 2) if v == v and v is not None else v for _, v in bars][3:] == [0.4, 0.6]
    path = chart(bars, tmp_path / "c.png")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (500, 480)


def test_the_chart_reads_the_active_reward_models_accuracy_and_baselines(tmp_path):
    import json

    from rlhf_demo.reward.model import META_FILE
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.calibration import chart_bars, reward_reference
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path))
    assert reward_reference(ws) == {"name": None, "accuracy": None, "shorter": None, "longer": None}
    folder = tmp_path / "reward_models" / "rm-x"
    folder.mkdir(parents=True)
    (folder / META_FILE).write_text(json.dumps({"eval": {"accuracy": 0.7}, "baseline_shorter_wins": 0.4,
                                                "baseline_longer_wins": 0.6}))
    ws.reward.models.set_active("rm-x")
    rm = reward_reference(ws)
    assert rm == {"name": "rm-x", "accuracy": 0.7, "shorter": 0.4, "longer": 0.6}
    st = {"label_agreement": 0.5, "percent_agreement": 0.6, "shorter_wins": 0.0, "longer_wins": 1.0}
    assert [v for _, v in chart_bars(st, rm)] == [0.5, 0.6, 0.7, 0.4, 0.6]  # the held-out baselines, not the items'
