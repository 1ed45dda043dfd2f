"""What a reward score means: the model's scores are on an arbitrary scale (often all negative), so a score is also
shown relative to the scores the model gave the held-out replies, in standard deviations.

``score_reference(scores)`` is computed once after training, over every held-out reply (chosen and rejected), and
saved in the model's metadata (``score_reference: {"mean", "std", "n"}``); `relative` and `describe` use it.
"""

from __future__ import annotations

import math
from typing import Sequence


def score_reference(scores: Sequence[float]) -> dict | None:
    """``{"mean", "std", "n"}`` of `scores` (the population std); None for no scores."""
    xs = [float(x) for x in scores if math.isfinite(float(x))]
    if not xs:
        return None
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
    return {"mean": round(mean, 6), "std": round(std, 6), "n": len(xs)}


def relative(score: float, reference: dict | None) -> float | None:
    """``(score - mean) / std`` in the reference's units; None without a usable reference."""
    if not reference or not reference.get("std") or not math.isfinite(float(reference["std"])):
        return None
    return (float(score) - float(reference["mean"])) / float(reference["std"])


def describe(z: float | None) -> str:
    """``0.8 σ above an average held-out reply`` (or "below": the size, never a minus before "below"); a note when
    there is no reference."""
    if z is None:
        return "no reference (this model was saved without held-out score statistics)"
    return f"{abs(z):.1f} σ {'above' if z >= 0 else 'below'} an average held-out reply"
