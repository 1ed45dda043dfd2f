"""Do people agree? Percent agreement, Cohen's kappa, Fleiss' kappa, and agreement with a reference label.

Why it matters for RLHF: a reward model learns the labels it is given. If two careful people pick the same reply only
~65-75 % of the time, no reward model can predict "the" human preference much better than that: the disagreement is
noise in the labels, a ceiling on accuracy (the *noise ceiling*). `calibration.py` measures it for a class.

Input everywhere is `ratings`: a mapping item -> {rater: category}, one verdict per rater and item (e.g.
{0: {"ada": "A", "bob": "B"}, 1: {...}}). Items and raters are any hashable values; categories any hashable values
compared with ==. All functions are pure.

* percent agreement: over every pair of raters who judged the same item, the share that gave the same verdict.
  Easy to read, but inflated by chance: two raters flipping coins agree 50 % of the time on two categories.
* Cohen's kappa (two raters): (p_o - p_e) / (1 - p_e) where p_o is their observed agreement on the items both
  judged and p_e = sum_k p1(k) * p2(k) the agreement expected if each rated at random with their own category rates.
  1 = perfect, 0 = chance level, < 0 = worse than chance. We report the mean over all rater pairs.
* Fleiss' kappa (many raters, Fleiss 1971): the same idea for the whole class at once. For item i with n_i raters,
  n_ij of whom chose category j: P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), the share of agreeing rater pairs.
  P_bar = mean of P_i over items; p_j = share of ALL ratings in category j; P_e = sum_j p_j^2;
  kappa = (P_bar - P_e) / (1 - P_e). Items judged by fewer than 2 raters carry no agreement and are left out.
  UNEQUAL numbers of raters per item (a student who stopped halfway) are handled the standard way: each item's
  P_i uses its own n_i, P_bar weighs every item equally, and p_j pools every rating. With the same n on every item
  this is exactly Fleiss (1971); we keep all items instead of only those with the modal count, because in a class
  the latecomers' items are the same items, and dropping them throws away most of the data.

Kappa is undefined (NaN) when p_e = 1 (everybody used one and the same category): there is no chance level to
improve on.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Hashable, Mapping, NamedTuple, Sequence

import numpy as np

Ratings = Mapping[Hashable, Mapping[Hashable, Hashable]]  # item -> rater -> category


class Agreement(NamedTuple):
    rate: float  # fraction of rater pairs that gave the same verdict (NaN when no item has two raters)
    n_items: int  # items judged by at least two different raters
    n_pairs: int  # (item, rater pair) comparisons


def percent_agreement(ratings: Ratings) -> Agreement:
    """Over every item and every pair of its raters: how often the two verdicts are equal."""
    n_items = n_pairs = n_agree = 0
    for by_rater in ratings.values():
        if len(by_rater) < 2:
            continue
        n_items += 1
        for x, y in combinations(by_rater.values(), 2):
            n_pairs += 1
            n_agree += x == y
    return Agreement(n_agree / n_pairs if n_pairs else float("nan"), n_items, n_pairs)


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters' verdicts on the same items (a[i] and b[i] are verdicts on item i)."""
    if len(a) != len(b):
        raise ValueError(f"Cohen's kappa needs verdicts on the same items: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        return float("nan")
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return (p_o - p_e) / (1.0 - p_e) if p_e < 1.0 else float("nan")


class PairwiseKappa(NamedTuple):
    mean: float  # mean Cohen's kappa over the rater pairs where it is defined (NaN if none)
    n_pairs: int  # rater pairs in the mean
    kappas: dict  # (rater, rater) -> kappa, for every pair with >= min_shared items (NaN where undefined)


def pairwise_cohen(ratings: Ratings, min_shared: int = 2) -> PairwiseKappa:
    """Cohen's kappa for every pair of raters who judged at least `min_shared` items in common, and the mean."""
    by_rater: dict[Hashable, dict] = {}
    for item, verdicts in ratings.items():
        for rater, category in verdicts.items():
            by_rater.setdefault(rater, {})[item] = category
    kappas = {}
    for r1, r2 in combinations(sorted(by_rater, key=repr), 2):
        shared = [i for i in by_rater[r1] if i in by_rater[r2]]
        if len(shared) >= min_shared:
            kappas[(r1, r2)] = cohen_kappa([by_rater[r1][i] for i in shared], [by_rater[r2][i] for i in shared])
    defined = [k for k in kappas.values() if not np.isnan(k)]
    return PairwiseKappa(float(np.mean(defined)) if defined else float("nan"), len(defined), kappas)


class Fleiss(NamedTuple):
    kappa: float  # NaN when fewer than one item has 2 raters, or P_e = 1
    n_items: int  # items with >= 2 raters (the ones used)
    p_bar: float  # mean observed agreement P_bar
    p_e: float  # chance agreement P_e


def fleiss_from_counts(counts) -> Fleiss:
    """Fleiss' kappa from an (items, categories) table of counts: counts[i, j] = raters who put item i in category j.
    Rows with fewer than 2 ratings are left out; rows may have different totals (see the module docstring)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError("Fleiss' kappa needs an (items, categories) table of counts")
    n_i = counts.sum(1)  # (items,)
    counts, n_i = counts[n_i >= 2], n_i[n_i >= 2]
    if len(counts) == 0:
        return Fleiss(float("nan"), 0, float("nan"), float("nan"))
    p_i = (counts * (counts - 1)).sum(1) / (n_i * (n_i - 1))  # (items,) share of agreeing rater pairs per item
    p_bar = float(p_i.mean())
    p_j = counts.sum(0) / counts.sum()  # (categories,) share of all ratings in each category
    p_e = float((p_j ** 2).sum())
    kappa = (p_bar - p_e) / (1.0 - p_e) if p_e < 1.0 else float("nan")
    return Fleiss(kappa, len(counts), p_bar, p_e)


def fleiss_kappa(ratings: Ratings, categories: Sequence | None = None) -> Fleiss:
    """Fleiss' kappa of every rater on every item (`ratings` as in the module docstring)."""
    cats = list(categories) if categories is not None else sorted({c for v in ratings.values() for c in v.values()}, key=repr)
    index = {c: j for j, c in enumerate(cats)}
    table = np.zeros((len(ratings), max(len(cats), 1)))
    for i, verdicts in enumerate(ratings.values()):
        for c in verdicts.values():
            table[i, index[c]] += 1
    return fleiss_from_counts(table)


class LabelAgreement(NamedTuple):
    rate: float  # mean score over the items (NaN if none was judged)
    n_items: int  # items with at least one verdict


def majority_agreement(ratings: Ratings, labels: Mapping[Hashable, str]) -> LabelAgreement:
    """How often the raters' majority picks the labelled side, for two-sided items (verdicts "A", "B" or "tie").

    Per item: the side with more "A" / "B" verdicts is the class's verdict (ties abstain); it scores 1 if it is the
    label, 0 if it is the other side, and 1/2 when A and B got equally many verdicts (all ties included), as a coin
    flip would: the same convention as the length baselines, so the numbers are comparable.
    """
    scores = []
    for item, verdicts in ratings.items():
        if not verdicts:
            continue
        n = Counter(verdicts.values())
        if n["A"] == n["B"]:
            scores.append(0.5)
        else:
            scores.append(float(("A" if n["A"] > n["B"] else "B") == labels[item]))
    return LabelAgreement(float(np.mean(scores)) if scores else float("nan"), len(scores))
