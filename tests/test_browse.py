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


def test_the_length_plot_is_readable_on_a_projector(sample_path):
    from rlhf_demo.data.browse import set_length_stats
    from rlhf_demo.ui.browse_view import length_plot

    from .fonts import assert_readable

    ps = load_jsonl(sample_path)
    assert set_length_stats(ps) is set_length_stats(ps)  # computed once per set
    assert_readable(length_plot(set_length_stats(ps)), min_texts=5)


# ------------------------------------------------------------------- the "reward model disagrees" filter's scores
import threading  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from rlhf_demo.jobs import JobRunner  # noqa: E402
from rlhf_demo.reward.scoring import (  # noqa: E402
    BackgroundScorer,
    ScoreCache,
    cache_key,
    model_fingerprint,
    score_split,
)


@pytest.fixture(scope="module")
def tiny_rm(tiny_bert):
    from rlhf_demo.reward.model import RewardModel, load_backbone

    torch.manual_seed(0)
    model, tok = load_backbone(tiny_bert)
    return RewardModel(model, tok, max_length=64)


@pytest.fixture(scope="module")
def real_pairs(sample_path):
    ps = load_jsonl(sample_path)
    return [(p.prompt, p.chosen, p.rejected) for p in ps.pairs[:150]]


def test_split_scores_match_one_pair_at_a_time(tiny_rm, real_pairs):
    seen = []
    res = score_split(tiny_rm, real_pairs, batch_size=16, on_progress=lambda f, eta: seen.append((f, eta)))
    for i in (0, 7, 75, 149):  # an independent loop: each pair alone, unpadded
        p, c, r = real_pairs[i]
        alone = tiny_rm.score([p, p], [c, r])
        assert res.chosen[i] == pytest.approx(alone[0].item(), abs=1e-4)
        assert res.rejected[i] == pytest.approx(alone[1].item(), abs=1e-4)
    assert res.disagreements() == [i for i in range(len(real_pairs)) if res.chosen[i] <= res.rejected[i]]
    fractions = [f for f, _ in seen]
    assert len(seen) == -(-300 // 16) and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert seen[0][1] is None and all(eta is not None for _, eta in seen[1:])  # estimating until a 2nd batch


def test_scoring_stops_between_batches(tiny_rm, real_pairs):
    calls = []
    assert score_split(tiny_rm, real_pairs, 16, should_stop=lambda: calls.append(1) or len(calls) > 2) is None


def test_the_cache_key_follows_the_model_and_the_data(tmp_path, real_pairs):
    model = tmp_path / "rm-1"
    model.mkdir()
    (model / "reward_meta.json").write_text('{"created": 1}')
    fp = model_fingerprint(model)
    key = cache_key("rm-1", fp, "local: x", "s", "all", "f")
    assert key == cache_key("rm-1", model_fingerprint(model), "local: x", "s", "all", "f")
    (model / "reward_meta.json").write_text('{"created": 2}')  # retrained under the same name
    assert model_fingerprint(model) != fp
    others = {cache_key("rm-1", fp, "local: y", "s", "all", "f"), cache_key("rm-1", fp, "local: x", "s", "test", "f"),
              cache_key("rm-2", fp, "local: x", "s", "all", "f"), cache_key("rm-1", fp, "local: x", "s", "all", "f")}
    assert len(others) == 4


def test_background_scores_survive_a_restart_and_never_block_the_heavy_job(tmp_path, tiny_rm, real_pairs):
    scorer = BackgroundScorer(ScoreCache(tmp_path / "reward_scores"))
    gate = threading.Event()

    def slow_load():
        gate.wait(10)  # the scoring job is busy...
        return tiny_rm

    assert scorer.get("k") is None
    assert scorer.start("k", "Scoring", slow_load, real_pairs, {"model": "rm"})
    assert not scorer.start("k", "Scoring", slow_load, real_pairs)  # one job, shared by every page
    heavy = JobRunner()  # ...while the app's runner starts reward training at once
    heavy.submit("reward", "Reward model training", lambda ctx: 1)
    assert heavy.join(5) and heavy.snapshot().state == "done"
    gate.set()
    assert scorer.runner.join(60) and scorer.runner.snapshot().state == "done"
    first = scorer.get("k")
    assert first is not None and len(first.chosen) == len(real_pairs)
    t = time.perf_counter()
    again = BackgroundScorer(ScoreCache(tmp_path / "reward_scores")).get("k")  # after a restart: from disk
    assert again == first and time.perf_counter() - t < 1.0


def test_the_cache_keeps_the_newest_files(tmp_path):
    from rlhf_demo.reward.scoring import SplitScores

    cache = ScoreCache(tmp_path, keep=3)
    for i in range(5):
        cache.save(f"k{i}", SplitScores([1.0], [0.0]))
        time.sleep(0.01)
    assert sorted(f.stem for f in tmp_path.glob("*.json")) == ["k2", "k3", "k4"]
    (tmp_path / "k4.json").write_text("{broken")
    assert cache.load("k4") is None and cache.load("k3").chosen == [1.0]


def test_a_sets_fingerprint_follows_every_text(sample_path):
    from rlhf_demo.data.hh import PreferenceSet, parse_pair

    ps = load_jsonl(sample_path)
    assert ps.fingerprint == load_jsonl(sample_path).fingerprint and len(ps.fingerprint) == 16
    last = ps.pairs[-1]
    changed = PreferenceSet([*ps.pairs[:-1], parse_pair(last.chosen_text + "!", last.rejected_text, last.index)], "x")
    assert changed.fingerprint != ps.fingerprint
    assert PreferenceSet(ps.pairs[:-1], "x").fingerprint != ps.fingerprint


class OneModel:
    """A reward-model registry with one saved model (its folder holds only the metadata the cache key reads)."""

    def __init__(self, folder, model):
        self.folder, self.model = folder, model

    def path(self, name):
        return self.folder

    def load(self, name, device=None):
        return self.model


def test_split_verdicts_one_pair_at_once_then_the_whole_split_from_the_background(tmp_path, tiny_rm, sample_path):
    from rlhf_demo.data.hh import PreferenceSet
    from rlhf_demo.reward.verdicts import SplitVerdicts

    folder = tmp_path / "rm-1"
    folder.mkdir()
    (folder / "reward_meta.json").write_text('{"created": 1}')
    ps = PreferenceSet(load_jsonl(sample_path).pairs[:40], "sample")
    where = ("local: x", "s", "test")
    verdicts = SplitVerdicts(OneModel(folder, tiny_rm), tmp_path / "reward_scores")
    alone = verdicts.pair("rm-1", where, ps, 7)  # nothing cached yet: one forward pass
    assert verdicts.scores("rm-1", where, ps) is None
    assert verdicts.start("rm-1", where, ps)
    assert verdicts.scorer.runner.join(60)
    snap, mine = verdicts.job("rm-1", where, ps)
    assert snap.state == "done" and mine
    found = verdicts.scores("rm-1", where, ps)
    assert found.chosen[7] == pytest.approx(alone[0], abs=1e-4) and found.rejected[7] == pytest.approx(alone[1], abs=1e-4)
    assert verdicts.pair("rm-1", where, ps, 7) == (found.chosen[7], found.rejected[7])  # now from the split's scores
    other = PreferenceSet(ps.pairs[:39], "sample")  # other data, another split: scored anew
    assert verdicts.scores("rm-1", where, other) is None and not verdicts.job("rm-1", where, other)[1]
    assert verdicts.scores("rm-1", (*where[:2], "train"), ps) is None


def test_random_always_moves_and_says_when_the_filters_leave_one_pair(tmp_path, monkeypatch):
    """Random shows another pair than the one on screen; when the search leaves a single pair it says so (it once
    did nothing at all)."""
    from rlhf_demo.reward.verdicts import SplitVerdicts
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui import browse
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path))
    verdicts = SplitVerdicts(ws.reward.models, tmp_path / "scores")
    said = []
    monkeypatch.setattr(browse.gr, "Info", lambda message, *a, **k: said.append(message))
    st = browse.fresh("bundled", "test")
    for _ in range(20):
        before = st["pos"]
        st = browse.jump(ws, verdicts, st, "bundled", "test")[0]
        assert st["pos"] != before
    assert said == []
    one = {**browse.fresh("bundled", "test"), "matches": [7], "query": "soup"}
    assert browse.jump(ws, verdicts, one, "bundled", "test")[1] == 7 and said and "Only one pair matches" in said[0]
