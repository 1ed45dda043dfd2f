"""How long a reward-model run takes, and when it evaluates: the plan the ETA and the evaluation curve follow.

1. work:      a batch of ``n`` sequences padded to ``T`` tokens costs ``n * T * (1 + T / (6 * hidden))``: the Linear
              layers grow with T, attention with T^2 (`batch_work`)
2. plan:      the padded batches one epoch will make, as ``train_sampling_strategy="group_by_length"`` (or random)
              cuts them (`planned_batches`): with length grouping the long conversations come first, so the first
              steps are the slowest and "elapsed / progress" overestimates (a 3-minute run once read "16 m left")
3. schedule:  evaluate every K steps so the curve has a handful of points (`auto_eval_steps`)
4. ETA:       `rlhf_demo.jobs.eta_seconds` (the pure estimator) fed with the measured steps and the work left
"""

from __future__ import annotations

import math
import random
from typing import Sequence


def batch_work(n_sequences: int, length: int, hidden_size: int = 384) -> float:
    """Relative cost of one forward+backward over ``n_sequences`` padded to ``length`` tokens."""
    return float(n_sequences * length * (1.0 + length / (6.0 * max(1, hidden_size))))


def planned_batches(lengths: Sequence[int], batch_size: int, grouped: bool = True, seed: int = 0) -> list[int]:
    """The padded length of each batch of one epoch, as transformers' samplers cut them.

    ``grouped``: `get_length_grouped_indices` (a random permutation cut into mega-batches of
    ``min(n // (4 * batch), 50)`` batches, each sorted longest first); else a random permutation. Only the multiset of
    batch lengths matters for the total work, so any seed gives a close estimate of the real run's.
    """
    n = len(lengths)
    if n == 0:
        return []
    order = list(range(n))
    random.Random(seed).shuffle(order)
    if grouped:
        mult = max(1, min(n // (batch_size * 4), 50))
        size = mult * batch_size
        order = [i for s in range(0, n, size) for i in sorted(order[s:s + size], key=lambda i: -lengths[i])]
    return [max(lengths[i] for i in order[s:s + batch_size]) for s in range(0, n, batch_size)]


def planned_work(lengths: Sequence[int], batch_size: int, epochs: float, grouped: bool = True,
                 hidden_size: int = 384) -> float:
    """Total work of a run: ``epochs`` passes (a fraction = that share of the batches) over ``lengths`` (one per pair;
    each pair is two sequences, chosen and rejected, padded to the batch's longest)."""
    per_epoch = [batch_work(2 * min(batch_size, len(lengths) - i * batch_size), T, hidden_size)
                 for i, T in enumerate(planned_batches(lengths, batch_size, grouped))]
    whole, part = int(epochs), epochs - int(epochs)
    return whole * sum(per_epoch) + sum(per_epoch[: math.ceil(part * len(per_epoch))])


def auto_eval_steps(total_steps: int, points: int = 6) -> int | None:
    """Evaluate every K steps so that about ``points - 1`` evaluations fall inside the run (the evaluations before
    and after training make the curve's two ends); None when the run is too short for any."""
    if points <= 1 or total_steps < 4:
        return None
    return max(2, math.ceil(total_steps / points))
