"""Browse backend: filtering, word-level diffs and length statistics over a PreferenceSet.

Pure functions (no gradio): the Browse tab and the API call these, tests call them directly.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, TypeVar

import numpy as np

from rlhf_demo.data.hh import PreferencePair, PreferenceSet

_WORD_RE = re.compile(r"\s+|[^\s]+")
T = TypeVar("T")


# ----------------------------------------------------------------------------- filtering


def _once(ps: PreferenceSet, name: str, compute: Callable[[PreferenceSet], T]) -> T:
    """`compute(ps)`, computed once per set and kept on it (a loaded set never changes)."""
    if name not in ps.__dict__:
        ps.__dict__[name] = compute(ps)
    return ps.__dict__[name]


def search_texts(ps: PreferenceSet) -> list[str]:
    """Lower-cased text of every pair, computed once per set (searching 40k pairs then takes ~10 ms)."""
    return _once(ps, "_search_texts", lambda ps: [p.searchable() for p in ps.pairs])


def filter_pairs(
    ps: PreferenceSet,
    query: str = "",
    min_turns: int = 1,
    max_turns: int | None = None,
) -> list[int]:
    """Positions of the pairs matching every keyword of `query` (case-insensitive) and the turn range."""
    words = [w for w in query.lower().split() if w]
    texts = search_texts(ps) if words else None
    hi = max_turns if max_turns is not None else 10**9
    out = []
    for i, p in enumerate(ps.pairs):
        if not (min_turns <= p.n_turns <= hi):
            continue
        if texts is not None and not all(w in texts[i] for w in words):
            continue
        out.append(i)
    return out


# ----------------------------------------------------------------------------- word diff


@dataclass(frozen=True)
class Span:
    text: str
    changed: bool  # True where this side differs from the other


def word_diff(a: str, b: str) -> tuple[list[Span], list[Span]]:
    """Word-level diff of two replies: spans of `a` and of `b`, each marked changed or not.

    Whitespace is kept as its own token so the spans concatenate back to the exact input.
    """
    ta, tb = _WORD_RE.findall(a), _WORD_RE.findall(b)
    sm = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    sa: list[Span] = []
    sb: list[Span] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        same = tag == "equal"
        if i2 > i1:
            sa.append(Span("".join(ta[i1:i2]), not same))
        if j2 > j1:
            sb.append(Span("".join(tb[j1:j2]), not same))
    return sa, sb


# ----------------------------------------------------------------------------- length bias


def n_words(text: str) -> int:
    return len(text.split())


def shorter_reply_wins(chosen_rejected) -> float:
    """Accuracy of the rule "the reply with fewer words is the preferred one", over (chosen, rejected) replies.

    The one length baseline of the app (Browse, the Reward tab, the `reward` command's JSON); "longer wins" is one
    minus it. Words, not characters: the unit the Browse tab shows lengths in, and the one a reader judges by.
    A tie counts half, as a coin flip would: that makes it an accuracy over EVERY pair, comparable with a reward
    model's accuracy on the same pairs (where an exact tie also counts half).
    """
    wins = [0.5 if n_words(c) == n_words(r) else float(n_words(c) < n_words(r)) for c, r in chosen_rejected]
    return sum(wins) / len(wins) if wins else float("nan")


def longer_reply_wins(chosen_rejected) -> float:
    """Accuracy of the rule "the reply with more words is the preferred one" (ties count half): 1 - shorter."""
    shorter = shorter_reply_wins(chosen_rejected)
    return float("nan") if shorter != shorter else 1.0 - shorter


@dataclass
class LengthStats:
    chosen_words: np.ndarray  # (N,) words in each chosen final reply
    rejected_words: np.ndarray  # (N,)
    shorter_wins: float  # `shorter_reply_wins`: the chosen reply has fewer words (ties count half)
    n_equal: int  # pairs with equally long replies (each counted half)

    @property
    def longer_wins(self) -> float:
        return 1.0 - self.shorter_wins

    @property
    def n(self) -> int:
        return len(self.chosen_words)

    def as_dict(self) -> dict:
        return {
            "pairs": self.n,
            "longer_reply_wins": round(self.longer_wins, 4),
            "shorter_reply_wins": round(self.shorter_wins, 4),
            "equal_length": self.n_equal,
            "chosen_median_words": float(np.median(self.chosen_words)),
            "rejected_median_words": float(np.median(self.rejected_words)),
        }


def set_length_stats(ps: PreferenceSet) -> LengthStats:
    """`length_stats` of a whole set, computed once per set (the Browse tab shows them at every visit)."""
    return _once(ps, "_length_stats", lambda ps: length_stats(ps.pairs))


def length_stats(pairs: list[PreferencePair]) -> LengthStats:
    """Reply lengths in words, and how often the shorter one is chosen: the baseline any reward model must beat."""
    c = np.array([n_words(p.chosen) for p in pairs], dtype=np.int64)
    r = np.array([n_words(p.rejected) for p in pairs], dtype=np.int64)
    return LengthStats(c, r, shorter_reply_wins((p.chosen, p.rejected) for p in pairs), int((c == r).sum()))
