"""Calibration rounds: every student judges the SAME fixed items, so the class's agreement can be measured.

In the arena each round re-samples its replies, so two students almost never judge the same thing and "do we
agree?" has no answer. A calibration set fixes K prompt/reply pairs drawn from the loaded hh-rlhf data; everyone
judges them in the same order (A better / B better / tie). Then we can measure how much people agree
(`agreement.py`: percent agreement, Cohen's and Fleiss' kappa) and how often the class's majority matches the
hh-rlhf label. That agreement is the *noise ceiling*: a reward model trained on such labels cannot be more
"right" than the labellers are consistent.

Items: pairs whose two transcripts share the conversation and differ in the final reply, short ones preferred
(a phone screen): prompt <= `max_prompt_chars`, each reply <= `max_words` words; drawn with `random.Random(seed)`
from those (the shortest pairs when too few are short), so the same data and seed give the same set. Which reply
sits on side A is decided per item by a seeded coin, so "always A" is not "always the hh-rlhf choice". The label
(`chosen`: which side hh-rlhf preferred) stays on the server: it is never sent to a student before the set ends.

Storage: two tables in the vote file (schema in `votes.py`), through the vote store's one connection. Only one set
is active; starting a new one ends the old one (its judgements are kept). A judgement is (set, item, voter key,
outcome, time), one per voter and item; a voter is (session id, typed name) as in `hygiene.py`.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import asdict, dataclass
from typing import Sequence

from rlhf_demo.arena import agreement as ag
from rlhf_demo.arena.votes import VoteStore, _now
from rlhf_demo.data.browse import n_words, shorter_reply_wins

OUTCOMES = ("A", "B", "tie")
K_DEFAULT, K_MIN, K_MAX = 10, 3, 30


class CalibrationError(ValueError):
    """A user-facing problem with a calibration set (the message is meant to be shown as is)."""


@dataclass(frozen=True)
class CalibrationItem:
    pair_index: int  # the pair's index in its data split (for reference)
    prompt: str  # hh-rlhf prompt ending with "\n\nAssistant:"
    reply_a: str
    reply_b: str
    chosen: str  # "A" or "B": the side hh-rlhf preferred (hidden from students)

    def public(self) -> dict:
        """What a student may see: no label."""
        return {"prompt": self.prompt, "reply_a": self.reply_a, "reply_b": self.reply_b}


@dataclass(frozen=True)
class CalibrationSet:
    set_id: int
    created_at: str
    ended_at: str | None
    seed: int
    source: str
    items: tuple[CalibrationItem, ...]

    @property
    def k(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Judgement:
    set_id: int
    item: int  # 0-based
    voter_id: str
    voter_name: str  # "" when none
    outcome: str  # "A" | "B" | "tie"
    judged_at: str

    @property
    def voter(self) -> tuple[str, str]:
        return self.voter_id, self.voter_name


# ----------------------------------------------------------------------------------------------------------
# drawing the items


def draw_items(pairs: Sequence, k: int = K_DEFAULT, seed: int = 0, max_words: int = 60,
               max_prompt_chars: int = 600) -> list[CalibrationItem]:
    """K items from hh-rlhf `PreferencePair`s, deterministic in (pairs, k, seed); see the module docstring."""
    if not K_MIN <= k <= K_MAX:
        raise CalibrationError(f"A calibration set has {K_MIN} to {K_MAX} items, not {k}.")
    usable = [p for p in pairs if p.same_prefix and p.chosen.strip() and p.rejected.strip()
              and p.chosen.strip() != p.rejected.strip()]
    short = [p for p in usable
             if len(p.prompt) <= max_prompt_chars and max(n_words(p.chosen), n_words(p.rejected)) <= max_words]
    if len(short) >= k:
        picked = random.Random(seed).sample(short, k)
    else:  # too few short ones: the k shortest, in a seeded order
        picked = sorted(usable, key=lambda p: (len(p.prompt) + len(p.chosen) + len(p.rejected), p.index))[:k]
        random.Random(seed).shuffle(picked)
    if len(picked) < k:
        raise CalibrationError(f"The data has only {len(picked)} pairs that differ in the final reply; "
                               f"ask for at most that many items.")
    items = []
    for p in picked:
        chosen_on_a = random.Random(f"calibration-side-{seed}-{p.index}").random() < 0.5
        a, b = (p.chosen, p.rejected) if chosen_on_a else (p.rejected, p.chosen)
        items.append(CalibrationItem(p.index, p.prompt, a.strip(), b.strip(), "A" if chosen_on_a else "B"))
    return items


# ----------------------------------------------------------------------------------------------------------
# the store


class CalibrationStore:
    """Calibration sets and judgements in the vote file. Thread-safe (the vote store's lock)."""

    def __init__(self, votes: VoteStore):
        self.votes = votes

    def start(self, items: Sequence[CalibrationItem], seed: int, source: str) -> CalibrationSet:
        """End the active set (if any) and start a new one with `items`, in one transaction."""
        now = _now()
        blob = json.dumps([asdict(it) for it in items])
        with self.votes.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE calibration_sets SET ended_at = ? WHERE ended_at IS NULL", (now,))
                cur = conn.execute("INSERT INTO calibration_sets (created_at, seed, source, items) VALUES (?, ?, ?, ?)",
                                   (now, int(seed), source, blob))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return CalibrationSet(cur.lastrowid, now, None, int(seed), source, tuple(items))

    def count_sets(self) -> int:
        """How many sets were ever started (the next set's seed is this + 1: a new set brings new items)."""
        with self.votes.connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM calibration_sets").fetchone()[0]

    def end(self) -> int:
        """End the active set; returns how many were ended (0 or 1)."""
        with self.votes.connection() as conn:
            return conn.execute("UPDATE calibration_sets SET ended_at = ? WHERE ended_at IS NULL", (_now(),)).rowcount

    @staticmethod
    def _set(row) -> CalibrationSet:
        items = tuple(CalibrationItem(**it) for it in json.loads(row[5]))
        return CalibrationSet(row[0], row[1], row[2], row[3], row[4], items)

    def active(self) -> CalibrationSet | None:
        with self.votes.connection() as conn:
            row = conn.execute("SELECT id, created_at, ended_at, seed, source, items FROM calibration_sets "
                               "WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        return self._set(row) if row else None

    def get(self, set_id: int) -> CalibrationSet:
        with self.votes.connection() as conn:
            row = conn.execute("SELECT id, created_at, ended_at, seed, source, items FROM calibration_sets WHERE id = ?",
                               (int(set_id),)).fetchone()
        if row is None:
            raise CalibrationError(f"There is no calibration set {set_id}.")
        return self._set(row)

    def active_key(self) -> tuple[int | None, int]:
        """(active set id, its number of judgements): cheap, for "has anything changed?" polls."""
        with self.votes.connection() as conn:
            row = conn.execute("SELECT id FROM calibration_sets WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None, 0
            n = conn.execute("SELECT COUNT(*) FROM calibration_judgements WHERE set_id = ?", (row[0],)).fetchone()[0]
        return row[0], n

    def judge(self, set_id: int, item: int, voter_id: str, voter_name: str | None, outcome: str) -> Judgement:
        """Store one verdict on one item of the ACTIVE set. Raises CalibrationError with the reason when refused."""
        if outcome not in OUTCOMES:
            raise CalibrationError(f"Unknown verdict {str(outcome)[:20]!r}: it must be one of {', '.join(OUTCOMES)}.")
        name = (voter_name or "").strip()[:60]
        active = self.active()
        if active is None or active.set_id != set_id:
            raise CalibrationError("This calibration set is no longer active"
                                   + (": the instructor started a new one." if active else "."))
        if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < active.k:
            raise CalibrationError(f"Item {item!r} is not in this calibration set: items are numbered 0 to {active.k - 1}.")
        j = Judgement(set_id, item, str(voter_id), name, outcome, _now())
        try:
            with self.votes.connection() as conn:
                conn.execute("INSERT INTO calibration_judgements (set_id, item, voter_id, voter_name, outcome, judged_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (j.set_id, j.item, j.voter_id, j.voter_name, j.outcome,
                                                            j.judged_at))
        except sqlite3.IntegrityError:
            raise CalibrationError(f"You already judged item {item + 1}: each item takes one verdict per voter.") from None
        return j

    def judgements(self, set_id: int) -> list[Judgement]:
        with self.votes.connection() as conn:
            rows = conn.execute("SELECT set_id, item, voter_id, voter_name, outcome, judged_at FROM calibration_judgements "
                                "WHERE set_id = ? ORDER BY id", (int(set_id),)).fetchall()
        return [Judgement(*row) for row in rows]

    def judged_items(self, set_id: int, voter_id: str, voter_name: str | None) -> set[int]:
        """The items this voter has judged in the set (their progress)."""
        with self.votes.connection() as conn:
            rows = conn.execute("SELECT item FROM calibration_judgements WHERE set_id = ? AND voter_id = ? AND voter_name = ?",
                                (int(set_id), str(voter_id), (voter_name or "").strip()[:60])).fetchall()
        return {r[0] for r in rows}


# ----------------------------------------------------------------------------------------------------------
# the statistics


def ratings_of(judgements: Sequence[Judgement]) -> dict[int, dict[tuple[str, str], str]]:
    """item -> voter -> outcome (the `agreement.Ratings` shape)."""
    out: dict[int, dict] = {}
    for j in judgements:
        out.setdefault(j.item, {})[j.voter] = j.outcome
    return out


def length_baselines(items: Sequence[CalibrationItem]) -> tuple[float, float]:
    """(shorter reply wins, longer reply wins) on the items themselves: words, ties half (`data.browse`)."""
    pairs = [((it.reply_a, it.reply_b) if it.chosen == "A" else (it.reply_b, it.reply_a)) for it in items]
    shorter = shorter_reply_wins(pairs)
    return shorter, 1.0 - shorter


def calibration_stats(cal: CalibrationSet, judgements: Sequence[Judgement]) -> dict:
    """Everything the live panel shows: voters, percent agreement, mean Cohen's kappa, Fleiss' kappa, the class's
    majority agreement with the hh-rlhf labels, and the length baselines on these items. NaN where undefined."""
    ratings = ratings_of(judgements)
    pct = ag.percent_agreement(ratings)
    cohen = ag.pairwise_cohen(ratings)
    fleiss = ag.fleiss_kappa(ratings, OUTCOMES)
    labels = {i: it.chosen for i, it in enumerate(cal.items)}
    label = ag.majority_agreement(ratings, labels)
    shorter, longer = length_baselines(cal.items)
    voters = {j.voter for j in judgements}
    done = sum(1 for v in voters if sum(1 for j in judgements if j.voter == v) == cal.k)
    return {"set_id": cal.set_id, "k": cal.k, "voters": len(voters), "finished_voters": done,
            "judgements": len(judgements),
            "percent_agreement": pct.rate, "agreement_pairs": pct.n_pairs,
            "cohen_kappa_mean": cohen.mean, "cohen_pairs": cohen.n_pairs,
            "fleiss_kappa": fleiss.kappa, "fleiss_items": fleiss.n_items,
            "label_agreement": label.rate, "label_items": label.n_items,
            "shorter_wins": shorter, "longer_wins": longer}
