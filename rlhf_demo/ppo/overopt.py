"""Watching PPO over-optimise: the proxy and a gold reward model on held-out prompts, every K steps.

Gao et al. (2022, "Scaling Laws for Reward Model Overoptimization") plot, against √KL(policy || base), the score of
the reward model being optimised (the PROXY) and of a GOLD model nothing is optimised against. The proxy keeps
climbing; the gold score rises, peaks and falls once the policy exploits the proxy's mistakes. Here:

    1. `evaluate_gold(engine, gold, prompts, seed)`  held-out prompts -> the policy's seeded replies (adapter on),
                                                     their KL from the reference, proxy AND gold raw scores: one row
                                                     (gold None: the proxy alone, for the PPO tab's verdict)
    2. `overopt_curve(rows)`                          rows -> both scores in σ above the FIRST row of the current
                                                     gold model (the base policy, step 0), against √KL: the Gao et
                                                     al. picture
    3. `drift_flags(history, response_length)`        per-step metrics -> "length drift" / "collapse" warnings

The rows are JSON-able (saved with the run, so they survive a restart). KL is the per-reply k3 estimate (≥ 0, unbiased
per token like k1, lower variance; a mean of k1 sums can come out slightly negative and has no square root).
"""

from __future__ import annotations

import math
from statistics import fmean, pstdev
from typing import Sequence

EVAL_PROMPTS = 32  # held-out prompts per evaluation: ONE batched generation; the mean's noise is about σ/√32 = 0.18σ
EVAL_SEED = 4321  # fixed: every evaluation samples with the same random numbers, so only the policy changes
FLAG_WINDOW = 3  # steps averaged at the start and at the end of a run when comparing them
LENGTH_DRIFT = 1.5  # mean reply length grew by half or more: the proxy may be paying for length, not quality
COLLAPSE = 0.5  # entropy halved: the policy says nearly the same thing every time (mode collapse)


def evaluate_gold(engine, gold, prompts: Sequence[str], seed: int = EVAL_SEED, gold_name: str | None = None) -> dict:
    """One evaluation of the engine's CURRENT policy on held-out `prompts` (nothing is trained).

    engine: a `PPOEngine` (its reward model is the proxy); gold: any `RewardScorer` (raw scores, its own scale), or
    None: the proxy alone (the PPO tab's verdict and before/after panel need no gold model).
    Returns {step, n, kl (mean k3 per reply), proxy_raw, gold_raw (means; gold_raw None without gold), their
    standard deviations, length (mean reply tokens), distinct (share of different replies), gold_name} and, per
    prompt (same order): prompts, replies, proxy_scores, gold_scores (None without gold), kls, cut (the reply hit
    the token limit)."""
    samples = engine.generate_probes(list(prompts), seed=seed)
    replies = [s["response"] for s in samples]
    proxy = [float(s["raw_score"]) for s in samples]
    golds = None
    if gold is not None:
        scored = gold.score([s["prompt"] for s in samples], replies)
        golds = [float(g) for g in (scored.tolist() if hasattr(scored, "tolist") else scored)]
    return {"step": engine.step_count, "n": len(samples), "kl": fmean(s["kl_k3"] for s in samples),
            "proxy_raw": fmean(proxy), "proxy_raw_std": pstdev(proxy),
            "gold_raw": None if golds is None else fmean(golds), "gold_raw_std": None if golds is None else pstdev(golds),
            "length": fmean(len(s["tokens"]) for s in samples), "distinct": len(set(replies)) / len(replies),
            "gold_name": None if golds is None else gold_name,
            "prompts": [s["prompt"] for s in samples], "replies": replies, "proxy_scores": proxy, "gold_scores": golds,
            "kls": [float(s["kl_k3"]) for s in samples], "cut": [bool(s["cut"]) for s in samples]}


def gold_rows(rows: Sequence[dict]) -> list[dict]:
    """The rows scored by the current gold model (the last row's), from where that gold model started: another gold
    model's rows, or rows without gold, are not on the same scale and start nothing."""
    if not rows or rows[-1].get("gold_raw") is None:
        return []
    name, out = rows[-1].get("gold_name"), []
    for r in reversed(rows):
        if r.get("gold_raw") is None or r.get("gold_name") != name:
            break
        out.append(r)
    return out[::-1]


def overopt_curve(rows: Sequence[dict]) -> list[dict]:
    """Rows of `evaluate_gold` -> points {step, sqrt_kl, proxy, gold}: each score as (mean - base mean) / base std,
    the base being the FIRST row scored by the current gold model (`gold_rows`; step 0 when the run was evaluated
    with it from the start). Both reward models then read in the same unit: "standard deviations of the base
    policy's replies", and both curves start at 0. Rows without gold give no curve."""
    rows = gold_rows(rows)
    if not rows:
        return []
    base = rows[0]
    sd_p = base.get("proxy_raw_std") or 1.0
    sd_g = base.get("gold_raw_std") or 1.0
    return [{"step": r["step"], "sqrt_kl": math.sqrt(max(r["kl"], 0.0)), "kl": r["kl"],
             "proxy": (r["proxy_raw"] - base["proxy_raw"]) / (sd_p if sd_p > 1e-6 else 1.0),
             "gold": (r["gold_raw"] - base["gold_raw"]) / (sd_g if sd_g > 1e-6 else 1.0)} for r in rows]


def gold_peak(curve: Sequence[dict]) -> dict | None:
    """Where the gold score peaked, and whether it then fell while the proxy kept rising: {step, gold, turned_down,
    drop (gold at the peak minus gold now), proxy_rise (proxy now minus proxy at the peak)}. None for < 3 points."""
    if len(curve) < 3:
        return None
    peak = max(range(len(curve)), key=lambda i: curve[i]["gold"])
    last = curve[-1]
    drop, rise = curve[peak]["gold"] - last["gold"], last["proxy"] - curve[peak]["proxy"]
    # "turned down": the peak is not the last point, gold lost a clear amount (0.2 σ, above the ~0.18 σ noise of a
    # 32-prompt mean) and the proxy did not fall with it
    return {"step": curve[peak]["step"], "gold": curve[peak]["gold"], "drop": drop, "proxy_rise": rise,
            "turned_down": peak < len(curve) - 1 and drop >= 0.2 and rise >= 0.0}


def drift_flags(history: Sequence[dict], response_length: int | None = None, window: int = FLAG_WINDOW) -> list[str]:
    """Warnings a class should see, from PPO's per-step metrics (`val/mean_response_length`, `objective/entropy`):

    length drift  the mean reply length of the last `window` steps is >= 1.5x that of the first ones, or replies
                  now hit the token limit while they did not at the start: the policy may be buying reward with length
                  (a known reward-model bias: longer replies win more often in hh-rlhf);
    collapse      the entropy (nats per reply) of the last steps is <= half that of the first ones: the policy nearly
                  always says the same thing, a sign it found one reply the proxy likes and stopped exploring.
    Needs 2 x window steps; returns [] before that."""
    if len(history) < 2 * window:
        return []
    first, last = history[:window], history[-window:]
    flags = []

    def mean(rows, key):
        vals = [r[key] for r in rows if key in r and r[key] == r[key]]
        return fmean(vals) if vals else None

    l0, l1 = mean(first, "val/mean_response_length"), mean(last, "val/mean_response_length")
    if l0 and l1:
        at_limit = response_length is not None and l1 >= 0.95 * response_length and l0 < 0.8 * response_length
        if l1 >= LENGTH_DRIFT * l0 or at_limit:
            flags.append(f"length drift: replies grew from {l0:.0f} to {l1:.0f} tokens on average (the proxy may be "
                         "rewarding length rather than quality)")
    e0, e1 = mean(first, "objective/entropy"), mean(last, "objective/entropy")
    if e0 and e1 is not None and e0 > 0 and e1 <= COLLAPSE * e0:
        flags.append(f"collapse: entropy fell from {e0:.1f} to {e1:.1f} nats per reply (the policy keeps giving "
                     "nearly the same reply)")
    return flags
