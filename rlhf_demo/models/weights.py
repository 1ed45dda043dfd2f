"""Finite weights: a model or adapter whose numbers turned NaN or infinite is never saved, loaded or played.

A NaN in one tensor spreads to every reply and every score it touches; the app refuses it where it enters (a PPO
step rolled back, a checkpoint left out of the arena) and says which tensors are broken.
"""

from __future__ import annotations

from typing import Mapping

import torch


def non_finite(tensors: Mapping[str, torch.Tensor | None]) -> list[str]:
    """The names of the tensors holding a NaN or an infinity, in order; [] when all are finite. None values (a
    parameter without a gradient) are skipped."""
    return [name for name, t in tensors.items() if t is not None and not bool(torch.isfinite(t).all())]


def weights_problem(tensors: Mapping[str, torch.Tensor | None], what: str = "weights") -> str | None:
    """None when every tensor is finite, else one plain sentence for the user: "its weights are NaN or infinite
    (16 of 16 tensors, e.g. ...)"."""
    bad = non_finite(tensors)
    if not bad:
        return None
    total = sum(t is not None for t in tensors.values())
    return f"its {what} are NaN or infinite ({len(bad)} of {total} tensors, e.g. {bad[0]})"


def saved_weights_problem(path) -> str | None:
    """`weights_problem` of a safetensors file (e.g. adapter_model.safetensors); also a sentence when it is unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as e:
        return f"its weights cannot be read ({type(e).__name__}: {str(e)[:200]})"
    return weights_problem(tensors)
