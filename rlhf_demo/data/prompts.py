"""Prompt pools: which hh-rlhf conversations a policy is asked to continue (arena rounds, PPO, evaluation)."""

from __future__ import annotations

from rlhf_demo.data.hh import PreferenceSet


def short_prompts(ps: PreferenceSet, max_chars: int) -> list[str]:
    """The prompts of a preference set that fit in `max_chars` (else every prompt, cut from the left)."""
    prompts = [p.prompt for p in ps.pairs if len(p.prompt) <= max_chars]
    return prompts or [p.prompt[-max_chars:] for p in ps.pairs]


def arena_prompts(source, max_chars: int = 1500) -> list[str]:
    """Prompts for arena rounds: the conversations of the default split, short enough to answer quickly."""
    return short_prompts(source.load(), max_chars)


def training_prompts(source, max_chars: int = 1500) -> list[str]:
    """PPO's prompt pool: the train split of the default subset (the held-out split stays for evaluation)."""
    subset, split = source.default()
    if "train" in source.splits(subset):
        split = "train"
    return short_prompts(source.load(subset, split), max_chars)


def heldout_prompts(source, n: int, max_chars: int = 1500, seed: int = 0) -> list[str]:
    """`n` distinct prompts of the held-out split (`test` when the default subset has one), a seeded sample: what
    PPO's gold evaluation and the frontier measure on, never trained on (PPO draws from `train`)."""
    import random

    subset, split = source.default()
    if "test" in source.splits(subset):
        split = "test"
    prompts = list(dict.fromkeys(short_prompts(source.load(subset, split), max_chars)))
    return random.Random(seed).sample(prompts, min(n, len(prompts)))
