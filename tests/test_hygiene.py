"""Vote hygiene: each filter against an independent simple loop, edge cases, the report, saved settings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from rlhf_demo.arena.hygiene import (
    FilterReport,
    VoteFilters,
    apply_filters,
    filter_reasons,
    load_filters,
    save_filters,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class V:
    """A minimal vote record: what the filters read."""

    voter_id: str
    t: float  # seconds after T0 of the vote
    read: float = 10.0  # seconds between the round being shown and the vote
    outcome: str = "A"
    voter_name: str | None = None

    @property
    def voted_at(self) -> str:
        return (T0 + timedelta(seconds=self.t)).isoformat(timespec="milliseconds")

    @property
    def created_at(self) -> str:
        return (T0 + timedelta(seconds=self.t - self.read)).isoformat(timespec="milliseconds")


NO_FILTERS = VoteFilters(cap_per_hour=0, min_seconds=0, outliers=False)


# ------------------------------------------------------------------------------------------ too fast


def test_too_fast_votes_do_not_count_and_the_boundary_counts():
    votes = [V("a", 10, read=0.5), V("a", 20, read=1.999), V("a", 30, read=2.0), V("a", 40, read=30)]
    assert filter_reasons(votes, VoteFilters(min_seconds=2.0)) == ["too_fast", "too_fast", None, None]
    assert filter_reasons(votes, VoteFilters(min_seconds=0)) == [None] * 4  # 0 = off


# ------------------------------------------------------------------------------------------ the hourly cap


def cap_by_loop(votes, cap):
    """Independent reference: replay by time; a vote counts iff fewer than `cap` of the same voter's COUNTED votes
    lie in the hour before it (t - 3600 < t' <= t)."""
    counted = []
    reasons = {}
    for i in sorted(range(len(votes)), key=lambda i: votes[i].t):
        v = votes[i]
        recent = [j for j in counted if votes[j].voter_id == v.voter_id and v.t - 3600 < votes[j].t <= v.t]
        if len(recent) < cap:
            counted.append(i)
            reasons[i] = None
        else:
            reasons[i] = "over_cap"
    return [reasons[i] for i in range(len(votes))]


def test_cap_matches_an_independent_loop_on_random_votes():
    rng = random.Random(0)
    for trial in range(30):
        cap = rng.choice([1, 2, 3, 5])
        votes = [V(rng.choice("abc"), rng.uniform(0, 4 * 3600), voter_name=rng.choice([None, "Ada", " Ada "]))
                 for _ in range(rng.randint(0, 60))]
        filters = VoteFilters(cap_per_hour=cap, min_seconds=0)
        assert filter_reasons(votes, filters) == cap_by_loop(votes, cap), trial


def test_cap_is_per_rolling_hour_and_per_session_whatever_the_name():
    f = VoteFilters(cap_per_hour=2, min_seconds=0)
    votes = [V("a", 0), V("a", 10), V("a", 20),  # third within the hour: over
             V("a", 3600), V("a", 3605),  # the vote at 0 left the window exactly at 3600; 10 still in: 3605 over
             V("b", 20),  # another session: its own cap
             V("a", 20, voter_name="Bob")]  # the same session under another name: the same voter, over too
    assert filter_reasons(votes, f) == [None, None, "over_cap", None, "over_cap", None, "over_cap"]
    # any 60-minute window holds at most `cap` counted votes of one voter
    counted = [v.t for v, why in zip(votes, filter_reasons(votes, f)) if why is None and v.voter_id == "a"]
    assert all(sum(1 for u in counted if t - 3600 < u <= t) <= 2 for t in counted)


def test_names_never_make_a_new_voter():
    """One session voting as bot-0 ... bot-5 under a cap of 3 an hour: 3 count (the names are labels)."""
    votes = [V("s1", 10 * i, voter_name=f"bot-{i}") for i in range(6)]
    assert filter_reasons(votes, VoteFilters(cap_per_hour=3, min_seconds=2)) == [None] * 3 + ["over_cap"] * 3


def test_the_reading_time_starts_at_the_later_of_delivery_and_the_previous_vote():
    """12 rounds delivered, one wait of 2.1 s, then 12 votes in 3.4 s: each vote after the first had 0.3 s to read
    its round since the previous vote, so only the first counts. Another session's votes do not shorten it."""
    burst = [V("s1", 2.1 + 0.3 * i, read=2.1 + 0.3 * i) for i in range(12)]  # all delivered at t = 0
    other = [V("s2", 2.2)]  # another session votes 0.1 s after s1's first vote: its own clock
    reasons = filter_reasons(burst + other, VoteFilters(cap_per_hour=0, min_seconds=2))
    assert reasons == [None] + ["too_fast"] * 11 + [None]
    # a voter who reads each round in turn: every vote counts, however early the rounds were asked for
    steady = [V("s3", 5 * (i + 1), read=5 * (i + 1)) for i in range(6)]
    assert filter_reasons(steady, VoteFilters(cap_per_hour=0, min_seconds=2)) == [None] * 6


def test_too_fast_votes_do_not_use_up_the_cap():
    f = VoteFilters(cap_per_hour=1, min_seconds=2)
    votes = [V("a", 0, read=0.1), V("a", 5, read=9)]
    assert filter_reasons(votes, f) == ["too_fast", None]


def test_order_of_records_does_not_matter():
    f = VoteFilters(cap_per_hour=1, min_seconds=0)
    votes = [V("a", 50), V("a", 10)]  # given newest first: the older one is the one that counts
    assert filter_reasons(votes, f) == ["over_cap", None]


# ------------------------------------------------------------------------------------------ outliers


def outliers_by_loop(votes, min_votes, share):
    flagged = set()
    for key in {v.voter_id for v in votes}:
        sides = [v.outcome for v in votes if v.voter_id == key and v.outcome in ("A", "B")]
        if len(sides) >= min_votes and max(sides.count("A"), sides.count("B")) >= share * len(sides):
            flagged.add(key)
    return flagged


def test_position_bias_filter_matches_a_loop_and_is_off_by_default():
    rng = random.Random(1)
    votes = [V("always-a", i, outcome="A") for i in range(12)]
    votes += [V("mostly-b", i, outcome="B" if i else "A") for i in range(12)]  # 11 of 12 on B: flagged
    votes += [V("honest", i, outcome=rng.choice("AB")) for i in range(12)]
    votes += [V("few", i, outcome="A") for i in range(5)]  # too few votes to tell
    votes += [V("always-a", 100, outcome="tie")]  # a flagged voter's ties go too
    f = VoteFilters(cap_per_hour=0, min_seconds=0, outliers=True)
    reasons = filter_reasons(votes, f)
    expected = outliers_by_loop(votes, f.outlier_min_votes, f.outlier_side_share)
    assert {v.voter_id for v, why in zip(votes, reasons) if why == "outlier"} == expected
    assert expected >= {"always-a", "mostly-b"} and "few" not in expected
    assert reasons[-1] == "outlier"
    assert "outlier" not in filter_reasons(votes, VoteFilters(cap_per_hour=0, min_seconds=0))


def test_outliers_are_judged_on_votes_that_passed_the_other_filters():
    votes = [V("a", 10 * i, outcome="A", read=0.1 if i >= 6 else 10) for i in range(12)]  # 6 too fast: 6 left
    f = VoteFilters(cap_per_hour=0, min_seconds=2, outliers=True)
    assert filter_reasons(votes, f).count("outlier") == 0


# ------------------------------------------------------------------------------------------ the report


def test_report_counts_each_vote_once_and_says_why():
    votes = [V("a", t) for t in range(0, 210, 3)] + [V("b", 1, read=0.5)] * 3  # a: one vote every 3 s
    counted, rep = apply_filters(votes, VoteFilters(cap_per_hour=60, min_seconds=2))
    assert (rep.stored, rep.counted, rep.over_cap, rep.too_fast, rep.outlier) == (73, 60, 10, 3, 0)
    assert rep.filtered == rep.over_cap + rep.too_fast + rep.outlier == 13
    assert counted == votes[:60]
    assert rep.reasons() == ["10 over the 60/hour cap",
                             "3 cast < 2 s after the round was shown (or after the voter's previous vote)"]
    assert apply_filters(votes, None) == (votes, FilterReport(73, 73))
    assert apply_filters([], VoteFilters())[1].as_dict()["counted"] == 0


@pytest.mark.parametrize("bad", [dict(cap_per_hour=-1), dict(cap_per_hour=2.5), dict(min_seconds=float("nan")),
                                 dict(min_seconds=-1), dict(outlier_side_share=0.2), dict(outliers="yes"),
                                 dict(cap_per_hour=True)])
def test_bad_settings_are_refused_with_the_field_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        VoteFilters(**bad)


def test_settings_persist_and_a_broken_file_gives_the_defaults(tmp_path):
    path = tmp_path / "vote_filters.json"
    assert load_filters(path) == VoteFilters()
    f = VoteFilters(cap_per_hour=10, min_seconds=3.5, outliers=True)
    save_filters(path, f)
    assert load_filters(path) == f
    assert [p.name for p in tmp_path.iterdir()] == ["vote_filters.json"]  # no temporary left behind
    path.write_text("{not json")
    assert load_filters(path) == VoteFilters()
