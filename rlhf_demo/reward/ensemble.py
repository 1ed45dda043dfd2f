"""An ensemble of reward models scored as one: the conservative proxy of Coste et al. (ICLR 2024).

One proxy reward model has blind spots: replies it scores high for the wrong reason. Optimise it hard (PPO at
β = 0, best-of-256) and the policy finds them; the gold reward falls while the proxy climbs (Gao et al. 2022).
Several proxies trained on other seeds or other slices of the data disagree on exactly those replies, so scoring
by their WORST case, or by their mean minus λ times their spread, takes the reward away where they disagree:

    1. each member scores every reply                                   (K, B)
    2. each member's scores in its own σ: (s - mean) / std of the scores of its held-out replies (`score_reference`,
       saved with the model), so no member outweighs another by its scale
    3. "mean-std": mean over members - λ · std over members              (B,)
       "min":      the lowest member                                     (B,)

`EnsembleScorer` is a `RewardScorer` (PPO, best-of-N and the frontier take it where they take one model).
"""

from __future__ import annotations

from typing import Sequence

import torch

MODES = ("mean-std", "min")
DEFAULT_LAMBDA = 1.0  # mean - 1·std: Coste et al.'s UWO with a λ that is neither timid nor ruinous on our scales


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"ensemble must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def combine(member_scores: torch.Tensor, mode: str = "mean-std", lam: float = DEFAULT_LAMBDA) -> torch.Tensor:
    """(K, B) standardised member scores -> (B,) the ensemble's score (step 3). The std is the population std over
    the K members (K = 1: 0, so the ensemble is the member itself)."""
    check_mode(mode)
    if member_scores.dim() != 2 or member_scores.shape[0] < 1:
        raise ValueError(f"expected (members, replies) scores, got shape {tuple(member_scores.shape)}")
    if mode == "min":
        return member_scores.min(0).values
    return member_scores.mean(0) - lam * member_scores.std(0, unbiased=False)


def reference(model) -> tuple[float, float]:
    """(mean, std) a member's scores are standardised with: its saved `score_reference`, else (0, 1)."""
    ref = (getattr(model, "meta", None) or {}).get("score_reference") or {}
    mean, std = float(ref.get("mean", 0.0)), float(ref.get("std", 1.0))
    return mean, (std if std > 1e-8 else 1.0)


class EnsembleScorer:
    """Several reward models as one `RewardScorer`: `score(prompts, replies)` -> (B,) float32 (see the recipe)."""

    def __init__(self, members: Sequence, mode: str = "mean-std", lam: float = DEFAULT_LAMBDA,
                 names: Sequence[str] | None = None):
        if len(members) < 2:
            raise ValueError("an ensemble needs at least 2 reward models")
        if lam < 0:
            raise ValueError(f"λ must be >= 0, got {lam}")
        self.members = list(members)
        self.mode = check_mode(mode)
        self.lam = float(lam)
        self.names = list(names) if names is not None else [f"member-{i}" for i in range(len(members))]
        self.meta = {"ensemble": self.mode, "lambda": self.lam, "members": self.names,
                     "score_reference": {"mean": 0.0, "std": 1.0}}

    @property
    def device(self) -> torch.device:
        return self.members[0].device

    def member_scores(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        """Steps 1-2: (K, B), each member in its own σ."""
        rows = []
        for m in self.members:
            mean, std = reference(m)
            rows.append((m.score(prompts, responses).float().cpu() - mean) / std)
        return torch.stack(rows)

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        return combine(self.member_scores(prompts, responses), self.mode, self.lam)

    def describe(self) -> str:
        return ensemble_label(self.names, self.mode, self.lam)


# -- how a run names what it was trained against (the PPO tab, /ppo_status, the saved run, the frontier) ---------------
def mode_text(mode: str, lam: float = DEFAULT_LAMBDA) -> str:
    """"mean − 1·std" or "min" (step 3 in a few characters)."""
    return "min" if check_mode(mode) == "min" else f"mean − {lam:g}·std"


def ensemble_label(names: Sequence[str], mode: str, lam: float = DEFAULT_LAMBDA) -> str:
    """"ensemble of 3 (rm-a, rm-b, rm-c), mean − 1·std"; one name alone is just that name."""
    names = list(names)
    if len(names) == 1:
        return names[0]
    return f"ensemble of {len(names)} ({', '.join(names)}), {mode_text(mode, lam)}"
