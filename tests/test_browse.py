"""Browse backend: search, turn filter, word diff, length statistics."""

from __future__ import annotations

import random

from rlhf_demo.data.browse import filter_pairs, length_stats, word_diff
from rlhf_demo.data.hh import load_jsonl


def test_search_matches_every_word_case_insensitively(sample_path):
    ps = load_jsonl(sample_path)
    hits = filter_pairs(ps, "Alcohol DRINK")
    assert hits, "the sample has conversations about drinking alcohol"
    for i in hits:
        text = (ps.pairs[i].chosen_text + ps.pairs[i].rejected).lower()
        assert "alcohol" in text and "drink" in text
    # independent check: a plain scan finds the same rows
    expect = [i for i, p in enumerate(ps.pairs) if all(w in (p.chosen_text + "\n" + p.rejected).lower() for w in ("alcohol", "drink"))]
    assert hits == expect
    assert filter_pairs(ps, "zzqqxx-not-a-word") == []


def test_turn_filter(sample_path):
    ps = load_jsonl(sample_path)
    single = filter_pairs(ps, "", 1, 1)
    multi = filter_pairs(ps, "", 4, None)
    assert single and multi and not set(single) & set(multi)
    assert all(ps.pairs[i].n_turns == 1 for i in single) and all(ps.pairs[i].n_turns >= 4 for i in multi)
    assert len(filter_pairs(ps)) == len(ps)


def test_word_diff_marks_only_the_differences_and_round_trips():
    a, b = "Boil the egg for nine minutes, then cool it.", "Boil the egg for two hours, then eat it."
    sa, sb = word_diff(a, b)
    assert "".join(s.text for s in sa) == a and "".join(s.text for s in sb) == b
    changed_a = " ".join(s.text for s in sa if s.changed)
    assert "nine" in changed_a and "cool" in changed_a and "Boil" not in changed_a
    same = word_diff(a, a)
    assert not any(s.changed for s in same[0] + same[1])


def test_word_diff_round_trips_real_replies(sample_path):
    ps = load_jsonl(sample_path)
    for p in random.Random(0).sample(ps.pairs, 50):
        sa, sb = word_diff(p.chosen, p.rejected)
        assert "".join(s.text for s in sa) == p.chosen and "".join(s.text for s in sb) == p.rejected


def test_length_stats_against_a_plain_count(sample_path):
    ps = load_jsonl(sample_path)
    st = length_stats(ps.pairs)
    longer = sum(len(p.chosen.split()) > len(p.rejected.split()) for p in ps.pairs)
    shorter = sum(len(p.chosen.split()) < len(p.rejected.split()) for p in ps.pairs)
    assert st.n_equal == len(ps) - longer - shorter
    # ties count half (the one definition, `shorter_reply_wins`)
    assert abs(st.longer_wins - (longer + 0.5 * st.n_equal) / len(ps)) < 1e-12
    assert abs(st.shorter_wins + st.longer_wins - 1.0) < 1e-12
    # the sample's README: "shorter reply wins" is right about 55 % of the time
    assert 0.52 < st.shorter_wins < 0.60
