"""Preference pairs as the reward model sees them: ``(prompt, chosen reply, rejected reply)`` strings.

Where they come from (a `PreferenceSet`, the class's votes), how a held-out split is drawn, and how hh-rlhf
pairs and votes are mixed into one training set.
"""

from __future__ import annotations

import random
from typing import Sequence

# (hh-rlhf prompt ending in "\n\nAssistant:", chosen reply, rejected reply)
Pair = tuple[str, str, str]


def pairs_from_set(preference_set) -> list[Pair]:
    """``(prompt, chosen_reply, rejected_reply)`` for each pair of a `PreferenceSet`.

    Pairs whose two conversations differ *before* the last reply (4 of 1,812 in harmless-base) are
    left out: they are not a comparison of two replies to the same conversation.
    """
    return [(p.prompt, p.chosen, p.rejected) for p in preference_set.pairs if p.same_prefix]


def split_pairs(pairs: Sequence[Pair], n_eval: int, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """A seeded held-out split: ``(train, eval)`` with ``n_eval`` pairs in eval (same seed, same split)."""
    idx = list(range(len(pairs)))
    random.Random(seed).shuffle(idx)
    n_eval = min(n_eval, len(pairs))
    return [pairs[i] for i in idx[n_eval:]], [pairs[i] for i in idx[:n_eval]]


HOLD_OUT_FRACTION = 0.2  # a file without a separate held-out set gives 20 % of its pairs to evaluation ...
MIN_TRAIN_PAIRS = 8  # ... and is refused only when fewer than this many would be left to train on


def hold_out(pairs: Sequence[Pair], max_eval: int, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """One file, no held-out set: keep 20 % of its pairs for evaluation (at most `max_eval`, at least 1), seeded.
    Raises ValueError naming the numbers when fewer than MIN_TRAIN_PAIRS would be left to train on (a fixed
    400 held-out pairs used to take all 192 pairs of a small file and then fail with "No training pairs")."""
    n = len(pairs)
    n_eval = min(max_eval, max(1, round(HOLD_OUT_FRACTION * n)))
    if n - n_eval < MIN_TRAIN_PAIRS:
        raise ValueError(f"Only {n} usable pairs: holding out {n_eval} for evaluation would leave {n - n_eval} to "
                         f"train on (at least {MIN_TRAIN_PAIRS} are needed). Use a larger file, or give a held-out "
                         "file of its own.")
    return split_pairs(pairs, n_eval, seed)


def build_training_pairs(hh_pairs: Sequence[Pair], vote_pairs: Sequence[Pair] = (), max_pairs: int | None = None,
                         seed: int = 0) -> list[Pair]:
    """The training set: every vote from the arena first, then hh-rlhf pairs up to ``max_pairs``, shuffled.

    Votes are few and are *your* preferences, so they are never dropped for hh-rlhf data; hh-rlhf
    pairs are sampled (seeded) when ``max_pairs`` is smaller than what is available.
    """
    votes = [tuple(p) for p in vote_pairs]
    hh = list(hh_pairs)
    rng = random.Random(seed)
    if max_pairs is not None:
        rng.shuffle(hh)
        hh = hh[: max(0, max_pairs - len(votes))]
    out = votes + hh
    rng.shuffle(out)
    return out


def check_pairs(pairs, what: str) -> list[Pair]:
    out = []
    for i, p in enumerate(pairs):
        if len(p) != 3 or not all(isinstance(s, str) for s in p):
            raise ValueError(f"{what} pair {i} is not (prompt, chosen_reply, rejected_reply) strings: {p!r:.120}")
        out.append(tuple(p))
    return out
