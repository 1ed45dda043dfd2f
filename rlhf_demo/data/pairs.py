"""Preference pairs as every training stage sees them: ``(prompt, chosen reply, rejected reply)`` strings.

Where they come from (a `PreferenceSet`; the arena turns votes into the same triples), how a held-out split is
drawn, how hh-rlhf pairs and votes are mixed into one training set, and their conversion to the formats of
hh-rlhf and of TRL (`preference_examples`), used by the reward model, DPO and the votes export alike.
"""

from __future__ import annotations

import random
from typing import Sequence

from rlhf_demo.data.hh import prompt_messages
from rlhf_demo.settings import shorten

# (hh-rlhf prompt ending in "\n\nAssistant:", chosen reply, rejected reply)
Pair = tuple[str, str, str]

EXPORT_FORMATS = ("hh", "conversational")  # hh-rlhf transcripts, or TRL's conversational preference format


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


def source_split(source, subset: str, n_eval: int, seed: int = 0) -> tuple[list[Pair], list[Pair], str]:
    """``(train, held_out, where)``: the hh-rlhf pairs of `subset` of a data source (`data.sources`) that train, and
    the fixed held-out pairs. The `test` split when the subset has one (``n_eval`` of it, seeded), else a seeded
    slice of its one split that never enters training (`hold_out`). What the reward model trains and is evaluated
    on, and what an export writes as its train and test splits. Raises ValueError for an unknown subset."""
    if subset not in source.subsets():
        raise ValueError(f"Unknown subset {shorten(subset)}.")
    splits = source.splits(subset)
    if "train" in splits and "test" in splits:
        held = split_pairs(pairs_from_set(source.load(subset, "test")), n_eval, seed)[1]
        return pairs_from_set(source.load(subset, "train")), held, f"{subset}/train, evaluated on {subset}/test"
    train, held = hold_out(pairs_from_set(source.load(subset, splits[0])), n_eval, seed)
    return train, held, f"{subset}/{splits[0]} minus {len(held)} held-out pairs"


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


def messages_arrow_type():
    """The Arrow type of a list of chat messages (``[{"role", "content"}]``): explicit, so that a Parquet file with
    zero rows is still a valid, loadable one."""
    import pyarrow as pa

    return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def preference_examples(pairs: Sequence[Pair], fmt: str) -> list[dict]:
    """The pairs as preference examples: fmt="hh", full hh-rlhf transcripts ``{"chosen": prompt + " " + chosen,
    "rejected": ...}``; fmt="conversational", TRL's implicit-prompt format ``{"chosen": [messages..., {"role":
    "assistant", "content": chosen}], "rejected": [...]}``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {shorten(fmt)}: choose one of {', '.join(EXPORT_FORMATS)}.")
    rows = []
    for prompt, chosen, rejected in pairs:
        if fmt == "hh":
            rows.append({"chosen": f"{prompt} {chosen}", "rejected": f"{prompt} {rejected}"})
        else:
            messages = prompt_messages(prompt)
            rows.append({
                "chosen": messages + [{"role": "assistant", "content": chosen}],
                "rejected": messages + [{"role": "assistant", "content": rejected}],
            })
    return rows
