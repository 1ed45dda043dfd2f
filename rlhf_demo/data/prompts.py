"""Prompt pools: which hh-rlhf conversations a policy is asked to continue (arena rounds, PPO, evaluation)."""

from __future__ import annotations

from rlhf_demo.data.hh import PreferenceSet


def short_prompts(ps: PreferenceSet, max_chars: int) -> list[str]:
    """The prompts of a preference set that fit in `max_chars` (else every prompt, cut from the left)."""
    prompts = [p.prompt for p in ps.pairs if len(p.prompt) <= max_chars]
    return prompts or [p.prompt[-max_chars:] for p in ps.pairs]
