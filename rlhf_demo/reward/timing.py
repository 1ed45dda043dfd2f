"""How long reward training will take, from what this machine measured: the newest saved model's training time
(``train_seconds`` over its ``steps`` optimiser steps, in its metadata). No constant: with nothing measured yet the
answer is "the ETA appears once training starts" (`jobs.eta_seconds` measures the steps as they run)."""

from __future__ import annotations

from rlhf_demo.jobs import fmt_seconds
from rlhf_demo.reward.config import RewardConfig

NOT_MEASURED = "Time: the ETA appears once training starts (nothing was trained on this machine yet to measure)."


def last_measurement(models: list[dict], backbone: str | None = None) -> dict | None:
    """The newest saved model (`RewardModelRegistry.list()`, newest first) with a usable timing: train_seconds > 0
    over steps > 0. One with `backbone` first (another backbone trains at another speed), else any."""
    timed = [m for m in models if (m.get("train_seconds") or 0) > 0 and (m.get("steps") or 0) > 0
             and (m.get("n_train") or 0) > 0]
    same = [m for m in timed if backbone and m.get("backbone") == backbone]
    return (same or timed or [None])[0]


def planned_steps(n_pairs: int, cfg: RewardConfig | None = None) -> int:
    """Optimiser steps that training `n_pairs` pairs makes (auto epochs included), as the trainer plans them."""
    return (cfg or RewardConfig()).total_steps(n_pairs)


def estimate_seconds(n_pairs: int, measured: dict | None, cfg: RewardConfig | None = None) -> float | None:
    """Seconds to train `n_pairs` pairs at the measured seconds per optimiser step (None: nothing measured)."""
    if not measured or n_pairs <= 0:
        return None
    return planned_steps(n_pairs, cfg) * measured["train_seconds"] / measured["steps"]


def minutes_text(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def training_time_text(n_pairs: int, measured: dict | None, cfg: RewardConfig | None = None) -> str:
    """One line for the Reward tab: the estimate for `n_pairs` and the measurement it comes from."""
    seconds = estimate_seconds(n_pairs, measured, cfg)
    if seconds is None:
        return NOT_MEASURED if n_pairs > 0 else "No hh-rlhf pairs: training uses the class's votes only."
    return (f"Time for {n_pairs:,} pairs: {minutes_text(seconds)} (measured here: the last training took "
            f"{fmt_seconds(measured['train_seconds'])} for {measured['n_train']:,} pairs, {measured['steps']} steps; "
            f"a busy machine is slower, the ETA then says so).")
