"""Goodhart you can see: a gold reward model, a proxy learnt from the gold model's labels, and the curves.

The set-up of Gao et al. (2022, "Scaling Laws for Reward Model Overoptimization"), offline. A GOLD reward model
stands in for the humans; nothing is ever optimised against it. It LABELS pairs of the policy's own replies, and the
PROXY is trained on a limited number of those labels, so it is a learnt, imperfect copy of gold. Optimise the
proxy hard (best-of-N with large N, PPO with no KL leash) and the policy finds where the copy is wrong: the proxy
keeps rising, the gold score peaks and falls.

    1. `sample_pairs(generate, prompts, seed)`   two replies of the base policy to each training prompt
    2. `label_pairs(rows, gold_a, gold_b, ...)`   gold's preference decides which reply is "chosen"; a share `noise`
                                                  of the labels is flipped (Coste et al. 2024 use 25 %), ties dropped
    3. `preference_records(pairs)`                an ordinary hh-rlhf preference file's records (chosen / rejected
                                                  transcripts): the Reward tab trains on it, a class could vote on it
    4. the proxy: the project's reward trainer on N of the labels (`make_gold_labelled_proxy`, one job)
    5. `bon_expected(proxy, values, n)`           best-of-n's expected value over EVERY n-subset of m samples of one
                                                  prompt (Nakano et al. 2021; Gao et al.'s estimator): far less noise
                                                  than one draw, and n up to m from the same samples
    6. `fit_bon(ds, golds)`                       gold ≈ d·(α − β·d) with d = √KL (Gao et al.'s best-of-n form)
    7. `drop_from_peak(points)`                   how far gold fell from its peak, and how the proxy moved meanwhile
    8. `drop_at_kl(points, kl)`                   the same, up to a given KL (ensemble vs single proxy at equal KL)
"""

from __future__ import annotations

import math
import random
import statistics
import time
from typing import Callable, Sequence

from rlhf_demo.data.pairs import Pair

NOISE_DEFAULT = 0.0  # label noise of the app's preset (the benchmark also runs 25 %, Coste et al.'s setting)
PROXY_EVAL_PAIRS = 48  # labelled pairs held out to measure how often the proxy agrees with gold


# -- 1-3. labels ----------------------------------------------------------------------------------------------------
def sample_pairs(generate: Callable[[list[str], int], list[str]], prompts: Sequence[str], seed: int = 0,
                 batch: int = 32, on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    """Two replies of the base policy to each prompt: [{prompt, a, b}], in `prompts` order.

    generate(rows, seed) -> one reply per row (e.g. `best_of_n.policy_sampler`); the rows are each prompt twice in a
    row, `batch` rows per call (batch i seeded with seed + i). on_batch(done_rows, all_rows) after every call."""
    rows = [p for p in prompts for _ in range(2)]
    replies: list[str] = []
    for i, start in enumerate(range(0, len(rows), batch)):
        replies += list(generate(rows[start:start + batch], seed + i))
        if on_batch is not None:
            on_batch(len(replies), len(rows))
    return [{"prompt": p, "a": replies[2 * i], "b": replies[2 * i + 1]} for i, p in enumerate(prompts)]


def label_pairs(rows: Sequence[dict], gold_a: Sequence[float], gold_b: Sequence[float], noise: float = 0.0,
                seed: int = 0) -> list[dict]:
    """Gold labels: per row {prompt, chosen, rejected, margin (gold(chosen) - gold(rejected) as gold decided, ≥ 0),
    flipped (the label was flipped by the noise)}. Pairs with two equal replies or an exact gold tie carry no
    preference and are dropped. `noise` in [0, 0.5): the share of labels flipped, drawn with `seed`."""
    if not 0.0 <= noise < 0.5:
        raise ValueError(f"label noise must be in [0, 0.5), got {noise}")
    if not len(rows) == len(gold_a) == len(gold_b):
        raise ValueError("one gold score per reply")
    rng = random.Random(seed)
    out = []
    for row, ga, gb in zip(rows, gold_a, gold_b):
        flip = rng.random() < noise  # drawn for every row: the flips do not depend on which rows tie
        if row["a"] == row["b"] or ga == gb:
            continue
        chosen, rejected = (row["a"], row["b"]) if ga > gb else (row["b"], row["a"])
        if flip:
            chosen, rejected = rejected, chosen
        out.append({"prompt": row["prompt"], "chosen": chosen, "rejected": rejected, "margin": abs(ga - gb),
                    "flipped": flip})
    return out


def as_pairs(labelled: Sequence[dict]) -> list[Pair]:
    """The reward trainer's (prompt, chosen, rejected) tuples."""
    return [(r["prompt"], r["chosen"], r["rejected"]) for r in labelled]


def preference_records(labelled: Sequence[dict]) -> list[dict]:
    """hh-rlhf records {"chosen": transcript, "rejected": transcript}: the prompt (it ends with "Assistant:") + " " +
    the reply, as in Anthropic's files, so `data.sources.LocalSource` reads the file like any hh-rlhf split."""
    return [{"chosen": f"{r['prompt']} {r['chosen']}", "rejected": f"{r['prompt']} {r['rejected']}"} for r in labelled]


# -- 5-8. the curves ------------------------------------------------------------------------------------------------
def bon_weights(m: int, n: int) -> list[float]:
    """P(the sample of rank i, i = 1..m from the lowest proxy score, is the best of a uniformly random n-subset of
    the m samples) = C(i-1, n-1) / C(m, n). They sum to 1; n = m puts all weight on the top sample."""
    if not 1 <= n <= m:
        raise ValueError(f"best-of-{n} needs n between 1 and the {m} samples")
    total = math.comb(m, n)
    return [math.comb(i - 1, n - 1) / total for i in range(1, m + 1)]


def bon_expected(proxy: Sequence[float], values: Sequence[float], n: int) -> float:
    """E[value of the sample best-of-n keeps], over all n-subsets of one prompt's m samples: the proxy picks, `values`
    (gold scores, or the proxy's own) are averaged. A proxy tie goes to the earlier sample (as `select_best`)."""
    if len(proxy) != len(values):
        raise ValueError("one value per sample")
    order = sorted(range(len(proxy)), key=lambda j: (proxy[j], -j))  # rank 1 = lowest; on a tie the earlier ranks higher
    return sum(w * values[j] for w, j in zip(bon_weights(len(proxy), n), order))


def fit_bon(ds: Sequence[float], golds: Sequence[float]) -> dict:
    """Least squares of gold = d·(α − β·d) = α·d − β·d² (no intercept: d = 0 is the base policy, gold 0 in σ of its
    replies). -> {alpha, beta, peak_d (α / 2β, where the fitted gold peaks; None when β ≤ 0: no peak), peak_gold}."""
    if len(ds) != len(golds) or len(ds) < 2:
        raise ValueError("need at least 2 (d, gold) points")
    s11 = sum(d * d for d in ds)
    s12 = sum(d ** 3 for d in ds)
    s22 = sum(d ** 4 for d in ds)
    t1 = sum(d * g for d, g in zip(ds, golds))
    t2 = sum(d * d * g for d, g in zip(ds, golds))
    det = s11 * s22 - s12 * s12  # the normal equations of [d, d²] · [α, -β]
    if abs(det) < 1e-12:
        raise ValueError("the points do not determine both coefficients (all at one d)")
    alpha = (t1 * s22 - t2 * s12) / det
    beta = -(s11 * t2 - s12 * t1) / det
    peak = alpha / (2 * beta) if beta > 0 else None
    return {"alpha": alpha, "beta": beta, "peak_d": peak, "peak_gold": None if peak is None else alpha * peak / 2}


def drop_from_peak(points: Sequence[dict]) -> dict | None:
    """points [{kl, proxy, gold}] in KL order -> {peak_kl, peak_gold, drop (peak gold - last gold), proxy_rise (last
    proxy - proxy at the gold peak), last_kl}; None for fewer than 2 points."""
    if len(points) < 2:
        return None
    peak = max(range(len(points)), key=lambda i: points[i]["gold"])
    last = points[-1]
    return {"peak_kl": points[peak]["kl"], "peak_gold": points[peak]["gold"], "drop": points[peak]["gold"] - last["gold"],
            "proxy_rise": last["proxy"] - points[peak]["proxy"], "last_kl": last["kl"]}


def _at(points: Sequence[dict], kl: float, key: str) -> float:
    """`key` linearly interpolated at `kl` between the points around it (the last point's value past it)."""
    for p, q in zip(points, points[1:]):
        if p["kl"] <= kl <= q["kl"]:
            t = 0.0 if q["kl"] == p["kl"] else (kl - p["kl"]) / (q["kl"] - p["kl"])
            return p[key] + t * (q[key] - p[key])
    return points[-1][key] if kl > points[-1]["kl"] else points[0][key]


def drop_at_kl(points: Sequence[dict], kl: float) -> float:
    """Gold's fall from its peak over KL ≤ `kl` to its value at `kl` (interpolated): ≥ 0; 0 while still at its peak.
    Two curves compared at the same `kl` (the largest both reach) compare their over-optimisation at equal KL."""
    pts = sorted(points, key=lambda p: p["kl"])
    upto = [p["gold"] for p in pts if p["kl"] <= kl]
    now = _at(pts, kl, "gold")
    return max(max(upto + [now]) - now, 0.0)


def norm_stats(scores: Sequence[float]) -> tuple[float, float]:
    """(mean, std) of the base policy's scores; std 1 when they are all alike (nothing to scale by)."""
    mean = statistics.fmean(scores)
    std = statistics.pstdev(scores) if len(scores) > 1 else 0.0
    return mean, (std if std > 1e-8 else 1.0)


def in_sigma(values: Sequence[float], base: Sequence[float]) -> list[float]:
    """Scores as (x - mean(base)) / std(base): σ of the base policy's replies (`norm_stats`)."""
    mean, sd = norm_stats(base)
    return [(v - mean) / sd for v in values]


# -- 4. the preset: one job from the gold model to a trained proxy ---------------------------------------------------
def make_gold_labelled_proxy(ctx, *, generate, gold, train_prompts: Sequence[str], n_labels: int, train_proxy,
                             noise: float = NOISE_DEFAULT, seed: int = 0, n_eval: int = PROXY_EVAL_PAIRS,
                             save_file: Callable[[list[dict]], str] | None = None,
                             train_eta: Callable[[int], float | None] = lambda n: None) -> dict:
    """Sample, label with gold, save the labelled set, train the proxy: one job with progress and an ETA.

    generate(rows, seed) -> replies (the base policy); gold: a `RewardScorer`; train_prompts: at least
    n_labels + n_eval of them (the first ones are used); train_proxy(train_pairs, eval_pairs, on_progress) -> the
    trainer's result dict (the caller saves and names it); save_file(labelled) -> where the preference file went;
    train_eta(n_pairs) -> seconds the proxy's training should take here (None: not measured yet).
    The eval pairs keep gold's own labels (no noise): the proxy's held-out accuracy is its agreement with gold."""
    want = n_labels + n_eval
    prompts = list(train_prompts)[: int(want * 1.15) + 4]  # a few spare: identical replies and ties are dropped
    if len(prompts) < want:
        raise ValueError(f"{n_labels} labels need at least {want} training prompts; the data has {len(prompts)}.")
    t0 = time.perf_counter()

    def on_batch(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - t0, 1e-6)
        train_s = train_eta(n_labels) or 0.0
        ctx.update(progress=0.6 * done / total, message=f"sampling replies for the labels: {done}/{total}",
                   eta_s=(total - done) / rate + train_s, eta_at=time.time())
        ctx.check()

    rows = sample_pairs(generate, prompts, seed, on_batch=on_batch)
    ctx.update(progress=0.6, message=f"the gold model labels {len(rows)} pairs")
    golds = [float(x) for x in gold.score([r["prompt"] for r in rows] * 2, [r["a"] for r in rows] + [r["b"] for r in rows])]
    clean = label_pairs(rows, golds[:len(rows)], golds[len(rows):], 0.0, seed)
    noisy = label_pairs(rows, golds[:len(rows)], golds[len(rows):], noise, seed)
    if len(clean) < n_eval + 8:
        raise ValueError(f"only {len(clean)} pairs had two different replies: too few to train a proxy")
    eval_rows = clean[-n_eval:]
    train_rows = noisy[: min(n_labels, len(noisy) - n_eval)]
    path = save_file(train_rows) if save_file is not None else None
    ctx.update(progress=0.65, message=f"training the proxy on {len(train_rows)} gold labels",
               eta_s=train_eta(len(train_rows)), eta_at=time.time())
    result = train_proxy(as_pairs(train_rows), as_pairs(eval_rows), lambda p: ctx.update(
        progress=0.65 + 0.35 * p["progress"], eta_s=p["eta_s"], eta_at=time.time()))
    return {**result, "labels": len(train_rows), "flipped": sum(r["flipped"] for r in train_rows),
            "eval_pairs": len(eval_rows), "noise": noise, "file": path,
            "seconds": round(time.perf_counter() - t0, 1)}
