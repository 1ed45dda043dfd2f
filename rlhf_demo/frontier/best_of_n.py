"""Best-of-N sampling: the simplest "alignment" there is, and a baseline PPO must beat.

For each prompt, sample N replies from the BASE policy, score them with the (proxy) reward model, keep the best.
No training at all: the policy "best-of-N" is the base policy plus a filter, and it moves away from the base policy
only as far as choosing among N samples can take it. Its KL to the base policy therefore has a closed form (for
distinct replies), which puts best-of-N on the same reward-vs-KL chart as PPO checkpoints (`ppo/evaluate.py`).

1. `bon_kl(n)`:            the closed form  log N - (N-1)/N  (an upper bound; exact for distinct samples)
2. `best_of_n(...)`:       sample n per prompt, score, keep the argmax: pure orchestration over two callables
3. `measured_bon_kl(...)`: the KL estimated from the samples' own scores (lower than the closed form when the
                           policy repeats itself)
4. `run_best_of_n(...)`:   all of it on a real policy and reward model, for N = 1, 2, 4, 8, 16 from ONE
                           generation of 16 replies per prompt (every smaller N uses a prefix of the same samples)
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Sequence

DEFAULT_NS = (1, 2, 4, 8, 16)
GEN_BATCH_ROWS = 32  # replies generated together at most (as the arena's MAX_BATCH_ROWS): bounds memory per call


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"N must be a positive integer, got {n!r}")
    return n


def bon_kl(n: int) -> float:
    """KL(best-of-N || base policy) by the closed form  log N - (N-1)/N  (nats).

    This is the "analytic" formula of Stiennon et al. (2020), used since in most best-of-N papers. Beirami et al.
    (2024, "Theoretical guarantees on the best-of-n alignment policy") show that it is an UPPER BOUND on the real
    KL: it holds with equality only when the N samples are distinct with probability 1 (no two replies share a
    reward, e.g. long free-form replies); a policy that often repeats the same reply has a smaller KL, since
    choosing among copies of one reply changes nothing. N = 1 gives 0 (the base policy itself); it grows like
    log N, always below log N.
    """
    n = _check_n(n)
    return math.log(n) - (n - 1) / n


def _floats(values) -> list[float]:
    """A scorer's output (list, tuple, numpy array or torch tensor) as a list of Python floats."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    return [float(v) for v in values]


def select_best(prompts: Sequence[str], replies: Sequence[str], scores: Sequence[float], n: int,
                group: int | None = None) -> list[dict]:
    """Best of the first `n` samples of each prompt, from samples already drawn and scored.

    replies / scores: `group` samples per prompt, prompt-major (prompt i's are at [i*group, (i+1)*group));
    group defaults to n. n <= group: only each prompt's first n samples are looked at (its prefix), so one batch of
    16 samples gives best-of-1, -2, -4, -8 and -16. The first maximum wins a tie (samples are exchangeable, so that
    is the same as breaking ties at random).

    Returns per prompt: prompt, reply (the kept one), score (its proxy score), scores (the n scores), index (of
    the kept one among the n), replies (the n replies).
    """
    n = _check_n(n)
    group = n if group is None else _check_n(group)
    if n > group:
        raise ValueError(f"best-of-{n} needs {n} samples per prompt, only {group} were drawn")
    if len(replies) != len(prompts) * group or len(scores) != len(replies):
        raise ValueError(f"expected {len(prompts)} x {group} replies and scores, got {len(replies)} replies "
                         f"and {len(scores)} scores")
    out = []
    for i, prompt in enumerate(prompts):
        rs, ss = list(replies[i * group: i * group + n]), [float(s) for s in scores[i * group: i * group + n]]
        best = max(range(n), key=lambda j: (ss[j], -j))  # highest score, first one on a tie
        out.append({"prompt": prompt, "reply": rs[best], "score": ss[best], "scores": ss, "index": best, "replies": rs})
    return out


def best_of_n(generate: Callable[[list[str], int], list[str]], score: Callable[[list[str], list[str]], Sequence[float]],
              prompts: Sequence[str], n: int, seed: int = 0) -> list[dict]:
    """Best-of-n for each prompt: n sampled replies, scored by the proxy reward model, the best one kept.

    generate(prompts_repeated, seed) -> one reply per row; the rows are each prompt n times in a row
                                        ([p0]*n + [p1]*n + ...), and `seed` makes the sampling reproducible.
    score(prompts, replies)          -> one proxy score per (prompt, reply) (list, array or tensor).

    Returns one dict per prompt, see `select_best` (reply, score, scores, index, replies).
    """
    n = _check_n(n)
    prompts = list(prompts)
    rows = [p for p in prompts for _ in range(n)]
    replies = list(generate(rows, seed))
    if len(replies) != len(rows):
        raise ValueError(f"generate returned {len(replies)} replies for {len(rows)} rows")
    scores = _floats(score(rows, replies))
    if len(scores) != len(rows):
        raise ValueError(f"score returned {len(scores)} scores for {len(rows)} replies")
    return select_best(prompts, replies, scores, n)


def prompt_bon_kl(scores: Sequence[float], n: int, replies: Sequence[str] | None = None) -> float:
    """The measured KL(best-of-n || base) for ONE prompt, from m >= 1 scored samples of the base policy.

    The samples' scores define an empirical reward distribution P (score level l has probability c_l / m; equal
    replies count as one level even when batching nudged their float scores apart). Best-of-n of P picks level l
    with probability  Q(l) = F(l)^n - F-(l)^n  (F = P(score <= l), F- = P(score < l)), and the estimate is
    KL(Q || P) = sum_l Q(l) log(Q(l) / P(l)).
    """
    n = _check_n(n)
    scores = [float(s) for s in scores]
    if not scores:
        raise ValueError("at least one sample is needed")
    if replies is not None:
        if len(replies) != len(scores):
            raise ValueError("one reply per score")
        first: dict[str, float] = {}
        scores = [first.setdefault(r, s) for r, s in zip(replies, scores)]
    m = len(scores)
    below, kl = 0, 0.0
    for level, count in sorted(Counter(scores).items()):
        f_lo, f_hi = below / m, (below + count) / m
        q = f_hi ** n - f_lo ** n
        if q > 0:
            kl += q * math.log(q / (count / m))
        below += count
    return max(kl, 0.0)  # exactly 0 for n = 1 or one level; rounding could give -1e-17


def measured_bon_kl(scores_per_prompt: Sequence[Sequence[float]], n: int,
                    replies_per_prompt: Sequence[Sequence[str]] | None = None) -> float:
    """An empirical estimate of KL(best-of-n || base policy) on held-out prompts, mean over prompts (nats).

    What it estimates. With ties broken at random, best-of-n keeps the base policy's distribution WITHIN a reward
    level, so KL(best-of-n || base) equals the KL between the two distributions of the reward. For a selected
    reply y whose reward r has CDF F under the base policy (F- = P(reward < r)),
        log pi_bon(y) - log pi_base(y) = log[(F^n - F-^n) / (F - F-)]  ->  log(n F^(n-1))  for a continuous reward,
    the ratio of Beirami et al. (2024), whose expectation over y ~ best-of-n is the KL; with a continuous reward it
    is exactly  log n - (n-1)/n  (`bon_kl`), and smaller when replies share rewards (a policy that repeats a reply).
    Here F is each prompt's EMPIRICAL CDF of the proxy scores of its m sampled replies (`scores_per_prompt`, m
    per prompt, m >= n is best; in `run_best_of_n` all 16 samples), ties kept as ties, and the expectation over
    best-of-n is taken exactly under that empirical distribution (`prompt_bon_kl`) rather than at the one reply
    that was kept: the kept reply is the maximum of those same samples, where the empirical CDF is 1 by
    construction, so evaluating the ratio there would only say log n.

    Bias. It is a plug-in estimate on m atoms: with m distinct scores it is a fixed number a little BELOW the
    closed form (best-of-n among m equally likely levels; m = 16: 0.191 vs 0.193 for n = 2, 1.794 vs 1.835 for n = 16),
    and it tends to the closed form as m grows. It falls further below when samples tie, which is the real effect
    the closed form misses, but with few samples a rare repeat is missed or over-counted. It measures KL on the
    reward's levels as the proxy sees them: two different replies with the same score count as one level (the KL
    over texts is then the same, by the random tie-break), while n = 1 gives exactly 0.
    """
    n = _check_n(n)
    if not scores_per_prompt:
        raise ValueError("no prompts")
    if replies_per_prompt is None:
        replies_per_prompt = [None] * len(scores_per_prompt)
    if len(replies_per_prompt) != len(scores_per_prompt):
        raise ValueError("one list of replies per prompt")
    kls = [prompt_bon_kl(s, n, r) for s, r in zip(scores_per_prompt, replies_per_prompt)]
    return sum(kls) / len(kls)


def policy_sampler(model, tokenizer, max_new_tokens: int = 48, temperature: float = 1.0, format_prompt=None,
                   device=None, batch_rows: int = GEN_BATCH_ROWS,
                   decoding="eager") -> Callable[[list[str], int], list[str]]:
    """A `generate(prompts, seed)` for `best_of_n`: the arena's `PolicyGenerator` on the base policy (no adapter),
    pure sampling at `temperature`, in batches of `batch_rows` rows (batch b seeded with seed + b)."""
    from rlhf_demo.arena.contestants import Contestant
    from rlhf_demo.arena.generator import PolicyGenerator
    from rlhf_demo.models.presets import format_prompt as chat_format

    if format_prompt is None:
        format_prompt = lambda p: chat_format(tokenizer, p)  # noqa: E731  (as evaluate does)
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=max_new_tokens, device=device, format_prompt=format_prompt,
                          decoding=decoding)
    base = Contestant("base", temperature, description="the base policy")

    def generate(prompts: list[str], seed: int) -> list[str]:
        out: list[str] = []
        for b, start in enumerate(range(0, len(prompts), batch_rows)):
            chunk = prompts[start:start + batch_rows]
            out += gen.generate(chunk, [base] * len(chunk), seed=seed + b)
        return out

    return generate


def run_best_of_n(model, tokenizer, scorer, prompts: Sequence[str], ns: Sequence[int] = DEFAULT_NS, seed: int = 0,
                  max_new_tokens: int = 48, temperature: float = 1.0, format_prompt=None, device=None,
                  return_samples: bool = False, decoding="eager"):
    """Best-of-N on a real policy for each N in `ns`: one row per N, ready to plot beside PPO checkpoints.

    model, tokenizer: the base policy (a causal LM; sampled with the arena's `PolicyGenerator`, seeded).
    scorer:           a `RewardScorer`: `score(prompts, replies)` -> one proxy score per reply.
    prompts:          held-out hh-rlhf prompts.
    ns:               the N values. max(ns) replies are sampled per prompt ONCE; best-of-N keeps the best of each
                      prompt's first N, so N = 1..16 costs one generation of 16, and the proxy score can only grow
                      with N (a prefix's maximum never exceeds a longer prefix's).
    temperature:      the base policy's sampling temperature (1.0 = the model's own distribution, the pi_base the
                      KL is measured against).
    decoding:         the rollout backend (`models/decoding.py`); its copy of the weights, for "bf16", is made once.

    Returns rows {method: "best-of-n", name: "best-of-{n}", n, kl (closed form `bon_kl`), kl_measured
    (`measured_bon_kl` on all max(ns) samples of each prompt), proxy (mean proxy score of the kept replies)};
    with return_samples=True, (rows, per-prompt samples from `best_of_n`).
    """
    ns = [_check_n(n) for n in ns]
    prompts = list(prompts)
    if not ns:
        raise ValueError("no N given")
    if not prompts:
        raise ValueError("no prompts")
    top = max(ns)
    generate = policy_sampler(model, tokenizer, max_new_tokens, temperature, format_prompt, device, decoding=decoding)
    samples = best_of_n(generate, lambda p, r: _floats(scorer.score(p, r)), prompts, top, seed)
    replies = [r for s in samples for r in s["replies"]]
    scores = [x for s in samples for x in s["scores"]]
    rows = []
    for n in ns:
        kept = select_best(prompts, replies, scores, n, group=top)
        rows.append({"method": "best-of-n", "name": f"best-of-{n}", "n": n, "kl": bon_kl(n),
                     "kl_measured": measured_bon_kl([s["scores"] for s in samples], n, [s["replies"] for s in samples]),
                     "proxy": sum(k["score"] for k in kept) / len(kept)})
    return (rows, samples) if return_samples else rows
