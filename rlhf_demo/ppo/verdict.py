"""Did PPO help? One plain sentence from the held-out rows (`overopt.evaluate_gold`, the proxy's scores).

A PPO step's score is measured on the replies the step trained on, a handful, each from another prompt: it jumps
(+0.58, −0.25, −0.10, +0.27, +0.58 in five steps) and says nothing about "better than before". The held-out rows
answer that: the same prompts, sampled with the same random numbers, at step 0 (the base policy) and now. So:

    1. moved  = (mean score now − mean score at step 0) / σ0, in σ0: the standard deviation of the base policy's
                scores on those prompts (the unit the Compare tab uses too)
    2. noise  = 2 × the standard error of that difference: the per-prompt differences (now − step 0, same prompt,
                same seed: paired) have a spread s; the mean of n of them wanders by about s/√n. Two of those is
                the usual "95 %" width. Rows saved without per-prompt scores fall back to the unpaired
                2·√(σ0² + σ_now²)/√n.
    3. verdict = "gain" when moved > noise, "worse" when moved < −noise, otherwise "no clear gain": a change within
                 the noise is not a result yet
    4. distance = the mean KL (k3, nats per reply) of the replies now from the frozen base: what the gain cost

`before_after(rows)` pairs the first and the newest row's replies prompt by prompt for the side-by-side panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean, stdev
from typing import Sequence

GAIN, NO_GAIN, WORSE = "gain", "no clear gain", "worse"


@dataclass(frozen=True)
class Verdict:
    steps: int  # PPO steps between the two rows
    first_step: int  # the step of the first row (0 unless the run was evaluated only later)
    moved: float  # change of the mean held-out score, in σ of the first row's scores
    noise: float  # ± two standard errors of that change
    kl: float  # mean KL (nats per reply) of the newest replies from the frozen base
    n: int  # held-out prompts
    verdict: str  # GAIN, NO_GAIN or WORSE

    def sentence(self) -> str:
        since = "" if self.first_step == 0 else f" since step {self.first_step}"
        head = (f"After {self.steps} step{'s' if self.steps != 1 else ''}{since} the held-out score moved by "
                f"{self.moved:+.2f} σ (noise ±{self.noise:.2f}); the replies moved {self.kl:.2f} nats from the base.")
        tail = {GAIN: "**Gain**: the reward model prefers the new replies to the same prompts, by more than the noise.",
                NO_GAIN: "**No clear gain yet**: the change is within the noise.",
                WORSE: "**Worse**: the reward model likes the new replies less, by more than the noise."}[self.verdict]
        return f"{head} {tail}"


def _sd(x: float | None) -> float:
    return x if x is not None and x > 1e-6 else 1.0


def heldout_verdict(rows: Sequence[dict]) -> Verdict | None:
    """The first and the newest held-out row -> the verdict (recipe above). None with fewer than two rows."""
    if len(rows) < 2:
        return None
    first, now = rows[0], rows[-1]
    sd0 = _sd(first.get("proxy_raw_std"))
    n = int(now.get("n") or len(now.get("proxy_scores") or ())) or 1
    moved = (now["proxy_raw"] - first["proxy_raw"]) / sd0
    a, b = first.get("proxy_scores"), now.get("proxy_scores")
    if a and b and len(a) == len(b) and len(a) >= 2:
        noise = 2 * stdev((y - x) / sd0 for x, y in zip(a, b)) / math.sqrt(len(a))
    else:
        noise = 2 * math.sqrt(sd0 ** 2 + (now.get("proxy_raw_std") or 0.0) ** 2) / math.sqrt(n) / sd0
    verdict = GAIN if moved > noise else WORSE if moved < -noise else NO_GAIN
    return Verdict(steps=now["step"] - first["step"], first_step=first["step"], moved=moved, noise=noise,
                   kl=max(now["kl"], 0.0), n=n, verdict=verdict)


@dataclass(frozen=True)
class BeforeAfter:
    prompt: str
    before: str  # the reply at the first row's step (the base policy)
    after: str  # the newest reply, same prompt, same random numbers
    before_score: float  # both in σ0 above the base policy's mean score on these prompts
    after_score: float
    before_step: int
    after_step: int
    before_cut: bool = False  # the reply hit the token limit
    after_cut: bool = False


def before_after(rows: Sequence[dict], limit: int = 3) -> list[BeforeAfter]:
    """The first `limit` held-out prompts, base vs now, with both scores (empty until two rows hold replies)."""
    if len(rows) < 2 or not rows[0].get("replies") or not rows[-1].get("replies"):
        return []
    first, now = rows[0], rows[-1]
    mu, sd0 = fmean(first["proxy_scores"]), _sd(first.get("proxy_raw_std"))
    cut0, cut1 = (r.get("cut") or [False] * len(r["replies"]) for r in (first, now))
    return [BeforeAfter(p, r0, r1, (s0 - mu) / sd0, (s1 - mu) / sd0, first["step"], now["step"], bool(c0), bool(c1))
            for p, r0, r1, s0, s1, c0, c1 in zip(first["prompts"], first["replies"], now["replies"],
                                                 first["proxy_scores"], now["proxy_scores"], cut0, cut1)][:limit]
