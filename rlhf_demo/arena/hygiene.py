"""Vote hygiene: which stored votes COUNT (leaderboard, export, reward-model data), and why the others do not.

Modelled on what Chatbot Arena (FastChat) does before it ranks: every vote is kept, and filters decide what is
counted, so a filter can be changed or switched off later and nothing has to be re-collected. In a classroom the
failure modes are the same as on the public arena, only smaller: one enthusiastic student (or a bot written in the
break) casting hundreds of votes, people clicking before they read, and people who always press the same button.

A voter is a browser session (the Gradio session id; an API client's session): that is what we can tell apart
without accounts. The typed name is a label stored with the vote and never makes a new voter, so a session that
votes as bot-0, bot-1, ... is still one voter under one cap. What the filters cannot stop: a script that opens a new
session for every vote is a new voter every time (only accounts would tell it apart from a class); see
`LIMITS_TEXT`, which the Vote tab shows.

Each vote is filtered for at most ONE reason, checked in this order, so the counts add up:

  1. too_fast  cast less than `min_seconds` after its round was shown. A round is shown when it is handed to the
               page or the API client (`rounds.created_at` is stamped then, after both replies were generated),
               but nobody reads two rounds at once: a session that asked for several rounds and then votes on them
               one after another reads each only after its previous vote. So a vote's reading time starts at the
               LATER of its round's delivery and the same session's previous vote (any previous vote, counted or
               not): asking for 12 rounds, waiting once and casting 12 votes in a burst counts at most the first.
               Nobody reads two replies in under ~2 s; such a vote is a click, not a judgement. Too-fast votes do
               not use up the voter's hourly cap.
  2. over_cap  at most `cap_per_hour` of a voter's votes count in any rolling 60 minutes: a vote counts only if
               fewer than `cap_per_hour` of the same voter's counted votes fall in the hour before it (ending at
               it). The first `cap_per_hour` votes of a voter always count; a bot gets `cap_per_hour`, not 10 000.
  3. outlier   (off by default) position bias: a voter with at least `outlier_min_votes` decisive votes (A or B)
               who picked the SAME SIDE in at least `outlier_side_share` of them. The arena shuffles which
               contestant sits on which side, so for an honest voter the side is a coin flip whatever the models'
               quality; with the defaults (>= 11 of >= 12) an honest voter is flagged with probability
               2 * P(Binomial(12, 1/2) >= 11) = 0.6 %, a voter who always presses "A" always is. We chose this
               over "disagrees with the consensus" because a class's consensus is itself noisy (see
               `calibration.py`): a thoughtful minority is not an outlier, a voter who ignores the text is.
               All of a flagged voter's votes (ties included) stop counting.

`apply_filters` is pure: same records and filters, same answer (the cap uses each vote's own time, never "now").
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

HOUR = 3600.0
REASONS = ("too_fast", "over_cap", "outlier")

# what the Vote tab says about the filters (ui/vote_filters.py shows it under the settings)
LIMITS_TEXT = """**What the filters can stop:** one browser session (or API client) voting more than the cap in an hour,
whatever names it types; votes cast faster than anyone reads, counted from when the round reached the page or from
the same session's previous vote, whichever is later (so asking for many rounds and voting on them in a burst does not
help); a voter who always picks the same side (the position-bias filter, when switched on).

**What they cannot stop:** a script that opens a new session for every vote (each is a new voter: without accounts
nothing tells it from a class of students, so keep a classroom app on the class's network); a voter who waits the
minimum time and then votes at random; a class that genuinely disagrees. Every vote is stored either way: the filters
only decide what counts, and can be changed later."""


@dataclass(frozen=True)
class VoteFilters:
    """Which votes count. Changing them is an instructor action; they persist as JSON under the data dir."""

    # A voter's counted votes per rolling hour. 60 = one a minute, more than a student reading two replies can
    # manage, far less than a script. 0 = no cap.
    cap_per_hour: int = 60
    # Seconds between a round being shown and its vote below which the vote does not count: reading two short
    # replies takes longer than 2 s. 0 = off.
    min_seconds: float = 2.0
    # The position-bias filter (see the module docstring). Off by default: with few votes per student, it would
    # rarely fire, and an instructor should decide to use it.
    outliers: bool = False
    # ... applies only to voters with this many decisive votes: below it, "always the same side" is too likely by chance.
    outlier_min_votes: int = 12
    # ... and flags them when this share of their decisive votes went to one side (0.9: 11 of 12, 18 of 20, ...).
    outlier_side_share: float = 0.9

    def __post_init__(self):
        def bad(msg):
            raise ValueError(msg)

        for name, lo, hi in (("cap_per_hour", 0, 100_000), ("outlier_min_votes", 2, 100_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                bad(f"{name} must be a whole number between {lo} and {hi:,}, got {v!r}")
        for name, lo, hi in (("min_seconds", 0.0, 3600.0), ("outlier_side_share", 0.5, 1.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                bad(f"{name} must be a number between {lo:g} and {hi:g}, got {v!r}")
        if not isinstance(self.outliers, bool):
            bad(f"outliers must be true or false, got {self.outliers!r}")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VoteFilters":
        """From saved JSON; unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def load_filters(path: str | os.PathLike) -> VoteFilters:
    """The saved filters, or the defaults when there is no file yet (or it is unreadable: hygiene must never take
    the Vote tab down; the next save rewrites it)."""
    try:
        return VoteFilters.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError, AttributeError):
        return VoteFilters()


def save_filters(path: str | os.PathLike, filters: VoteFilters) -> None:
    from rlhf_demo.storage import write_json_atomic

    write_json_atomic(path, filters.as_dict())  # readers see the old settings or the new ones, never half


# ----------------------------------------------------------------------------------------------------------
# applying them


@dataclass(frozen=True)
class FilterReport:
    """How many votes were stored, counted, and filtered for each reason (each vote for at most one)."""

    stored: int
    counted: int
    too_fast: int = 0
    over_cap: int = 0
    outlier: int = 0
    outlier_voters: int = 0  # voters flagged by the position-bias filter
    filters: VoteFilters = VoteFilters()

    @property
    def filtered(self) -> int:
        return self.stored - self.counted

    def reasons(self) -> list[str]:
        """One phrase per reason that filtered anything, e.g. "15 over the 60/hour cap"."""
        f, out = self.filters, []
        if self.over_cap:
            out.append(f"{self.over_cap:,} over the {f.cap_per_hour}/hour cap")
        if self.too_fast:
            out.append(f"{self.too_fast:,} cast < {f.min_seconds:g} s after the round was shown (or after the voter's "
                       "previous vote)")
        if self.outlier:
            who = "voter" if self.outlier_voters == 1 else "voters"
            out.append(f"{self.outlier:,} from {self.outlier_voters} {who} who picked the same side "
                       f"≥ {100 * f.outlier_side_share:.0f} % of the time")
        return out

    def as_dict(self) -> dict:
        return {"stored": self.stored, "counted": self.counted, "filtered": self.filtered, "too_fast": self.too_fast,
                "over_cap": self.over_cap, "outlier": self.outlier, "outlier_voters": self.outlier_voters,
                "filters": self.filters.as_dict()}


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def voter_key(record) -> str:
    """The session id: who cast a vote, for the reading time, the cap and the outlier filter (never the typed name)."""
    return str(record.voter_id)


def reading_seconds(records) -> list[float]:
    """For each record, the seconds its voter had to read the round: from the later of the round's delivery
    (`created_at`) and the same voter's previous vote, to this vote."""
    records = list(records)
    voted = [_seconds(r.voted_at) for r in records]
    previous: dict[str, float] = {}
    out = [0.0] * len(records)
    for i in sorted(range(len(records)), key=lambda i: voted[i]):  # stable: ties keep their order
        key = voter_key(records[i])
        start = max(_seconds(records[i].created_at), previous.get(key, float("-inf")))
        out[i] = voted[i] - start
        previous[key] = voted[i]
    return out


def filter_reasons(records, filters: VoteFilters) -> list[str | None]:
    """For each record (anything with voter_id, voter_name, created_at, voted_at, outcome), why it does not count:
    one of `REASONS`, or None when it counts. Records may come in any order; the cap replays them by vote time."""
    records = list(records)
    reasons: list[str | None] = [None] * len(records)
    # 1. too fast
    if filters.min_seconds > 0:
        for i, seconds in enumerate(reading_seconds(records)):
            if seconds < filters.min_seconds:
                reasons[i] = "too_fast"
    # 2. the cap: per voter, the times of their counted votes in the last hour
    if filters.cap_per_hour > 0:
        order = sorted(range(len(records)), key=lambda i: _seconds(records[i].voted_at))  # stable: ties keep order
        recent: dict[str, deque] = defaultdict(deque)
        for i in order:
            if reasons[i] is not None:
                continue
            t, window = _seconds(records[i].voted_at), recent[voter_key(records[i])]
            while window and window[0] <= t - HOUR:
                window.popleft()
            if len(window) < filters.cap_per_hour:
                window.append(t)
            else:
                reasons[i] = "over_cap"
    # 3. position bias, judged on the votes that are still counted
    if filters.outliers:
        for key in outlier_voters(records, reasons, filters):
            for i, r in enumerate(records):
                if reasons[i] is None and voter_key(r) == key:
                    reasons[i] = "outlier"
    return reasons


def outlier_voters(records, reasons, filters: VoteFilters) -> set[str]:
    """Voters whose still-counted decisive votes are >= outlier_min_votes, with >= outlier_side_share on one side."""
    sides: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # voter -> [n "A", n "B"]
    for r, why in zip(records, reasons):
        if why is None and r.outcome in ("A", "B"):
            sides[voter_key(r)][r.outcome == "B"] += 1
    return {key for key, (a, b) in sides.items()
            if a + b >= filters.outlier_min_votes and max(a, b) >= filters.outlier_side_share * (a + b)}


def apply_filters(records, filters: VoteFilters | None) -> tuple[list, FilterReport]:
    """(the records that count, in their order; the report). `filters=None` counts everything."""
    records = list(records)
    if filters is None:
        return records, FilterReport(len(records), len(records))
    reasons = filter_reasons(records, filters)
    counted = [r for r, why in zip(records, reasons) if why is None]
    n = {why: reasons.count(why) for why in REASONS}
    flagged = {voter_key(r) for r, why in zip(records, reasons) if why == "outlier"}
    return counted, FilterReport(len(records), len(counted), n["too_fast"], n["over_cap"], n["outlier"], len(flagged),
                                 filters)
