"""The vote arena: two anonymous contestants answer the same prompt, a person picks the better reply.

This is Chatbot Arena's "anonymous battle" mode for a class voting on its own model. A *contestant* is the
policy with one way of sampling from it: the base model at temperature 0.7, the same at 1.0, or the policy
plus a LoRA adapter saved by the PPO tab. One round:

    prompt (typed, or drawn from hh-rlhf)
      -> two DIFFERENT contestants drawn at random, in random A/B order
      -> both replies from ONE batched `model.generate` call (row 0 = A, row 1 = B)
      -> round stored (names hidden from the voter)  ...  vote("A" | "B" | "tie" | "both_bad") -> names revealed

How a batch of rows with different settings is generated: `generator.py`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

from rlhf_demo.arena.contestants import ArenaError, ContestantFailed, ContestantRegistry
from rlhf_demo.arena.generator import PolicyGenerator
from rlhf_demo.arena.votes import VoteRecord, VoteStore
from rlhf_demo.data.hh import prompt_from_text, prompt_turns

UNVOTED_ROUND_TTL = 6 * 3600  # seconds an unvoted round is kept (a vote after that is refused as an unknown round)
EXPIRE_EVERY = 100  # rounds between two sweeps of expired unvoted rounds


# ----------------------------------------------------------------------------------------------------------
# the arena


@dataclass(frozen=True)
class Round:
    """What the voter sees: no contestant names until they vote."""

    round_id: str
    prompt: str  # hh-rlhf text ending with "\n\nAssistant:"
    reply_a: str
    reply_b: str
    cut_a: bool = False  # the reply limit cut reply A mid-thought (its text is the model's, without a "…")
    cut_b: bool = False
    max_new_tokens: int = 0  # the reply limit, in tokens


@dataclass(frozen=True)
class VoteResult:
    """The verdict, with the contestants revealed."""

    round_id: str
    outcome: str  # "A" | "B" | "tie" | "both_bad"
    model_a: str
    model_b: str
    winner: str | None  # the preferred contestant's name; None for a tie / both bad
    voter_id: str
    voter_name: str | None

    @classmethod
    def from_record(cls, v: VoteRecord) -> "VoteResult":
        return cls(v.round_id, v.outcome, v.model_a, v.model_b, v.winner, v.voter_id, v.voter_name)


def prompt_picker(prompts: Sequence[str]) -> Callable[[random.Random], str]:
    """A `prompt_source` that draws uniformly from a fixed list of hh-rlhf prompts."""
    if not prompts:
        raise ArenaError("The prompt list is empty.")
    prompts = list(prompts)
    return lambda rng: rng.choice(prompts)


class Arena:
    """Creates rounds (generate + store) and records votes. Safe to call from many Gradio threads at once."""

    def __init__(self, store: VoteStore, registry: ContestantRegistry, generator: PolicyGenerator,
                 prompt_source: Callable[[random.Random], str], max_prompt_chars: int = 2000):
        self.store = store
        self.registry = registry
        self.generator = generator
        self.prompt_source = prompt_source
        self.max_prompt_chars = max_prompt_chars  # typed prompts only: keeps a round fast and the page readable
        self._rounds_made = 0

    def make_prompt(self, prompt: str | None, rng: random.Random) -> str:
        """None or "" -> a prompt drawn from `prompt_source`; typed text -> "\\n\\nHuman: {text}\\n\\nAssistant:"."""
        if prompt is None or prompt == "":
            return self.prompt_source(rng)
        text = prompt.strip()
        if not text:
            raise ArenaError("The prompt is empty: type a question, or leave the box empty for a random one.")
        if len(text) > self.max_prompt_chars:
            raise ArenaError(f"The prompt is too long ({len(text):,} characters; the limit is {self.max_prompt_chars:,}).")
        return prompt_from_text(text)

    def new_round(self, prompt: str | None, voter_id: str, voter_name: str | None = None,
                  seed: int | None = None, hh_prompt: str | None = None) -> Round:
        """Draw two different contestants, generate both replies in one call, store the round, hide the names.

        prompt:     typed text (None / "" = draw one from `prompt_source`).
        hh_prompt:  instead of `prompt`, a ready hh-rlhf prompt used as is (e.g. "regenerate" on a round's prompt).
        seed:       makes the prompt draw, the pairing, the A/B order and the sampling reproducible (None = random).
        voter_name: accepted for symmetry with `vote`; names are recorded with votes.
        """
        rng = random.Random(seed)
        if hh_prompt is not None:
            if prompt:
                raise ArenaError("Give either a typed prompt or an hh-rlhf prompt, not both.")
            try:
                prompt_turns(hh_prompt)
            except ValueError as e:
                raise ArenaError(f"Not an hh-rlhf prompt: {e}.") from e
        else:
            hh_prompt = self.make_prompt(prompt, rng)
        picker = self.generator.best_of_scorer()
        # best-of-N contestants play only while a reward model is active (it picks their replies)
        contestants = [c for c in self.registry.list() if c.best_of == 1 or picker is not None]
        while True:
            if len(contestants) < 2:
                raise ArenaError("The arena needs at least two contestants.")
            a, b = rng.sample(contestants, 2)  # two different ones, in random order: sample() shuffles
            gen_seed = rng.randrange(2**31) if seed is not None else None  # None: batched with other rounds
            try:
                reply_a, reply_b = self.generator.replies([hh_prompt, hh_prompt], [a, b], seed=gen_seed)
                break
            except ContestantFailed as e:
                if not e.lasting or e.name not in (a.name, b.name):
                    raise
                # it never will answer (e.g. its weights are NaN): out of the arena, and the round is drawn again
                self.registry.disable(e.name, e.reason)
                contestants = [c for c in contestants if c.name != e.name]
        settings = {**self.generator.settings(), "seed": gen_seed, "cut_a": reply_a.cut, "cut_b": reply_b.cut,
                    "temperature_a": a.temperature, "temperature_b": b.temperature,
                    "adapter_a": a.adapter_path, "adapter_b": b.adapter_path}
        uid_a, uid_b = a.uid or None, b.uid or None
        if picker is not None and (a.best_of > 1 or b.best_of > 1):
            # best-of-N answers with the reward model that picked: another reward model is another contestant
            settings.update(best_of_a=a.best_of, best_of_b=b.best_of, best_of_reward_model=picker[0])
            uid_a = f"{uid_a}|rm={picker[0]}" if a.best_of > 1 else uid_a
            uid_b = f"{uid_b}|rm={picker[0]}" if b.best_of > 1 else uid_b
        rec = self.store.add_round(hh_prompt, a.name, b.name, reply_a.text, reply_b.text, voter_id, settings,
                                   model_a_id=uid_a, model_b_id=uid_b)
        self._rounds_made += 1
        if self._rounds_made % EXPIRE_EVERY == 1:  # now and then (the first round after a start included)
            self.store.expire_unvoted(UNVOTED_ROUND_TTL)
        return Round(rec.round_id, hh_prompt, reply_a.text, reply_b.text, reply_a.cut, reply_b.cut,
                     settings["max_new_tokens"])

    def vote(self, round_id: str, outcome: str, voter_id: str, voter_name: str | None = None) -> VoteResult:
        """Record the verdict and reveal who was who. Raises `votes.VoteError` (a ValueError) when refused."""
        return VoteResult.from_record(self.store.add_vote(round_id, outcome, voter_id, voter_name))


def policy_arena(store: VoteStore, registry: ContestantRegistry, policy, prompts: Sequence[str],
                 best_of_scorer: Callable[[], tuple[str, object] | None] | None = None,
                 max_new_tokens: int = 48) -> Arena:
    """The app's arena: replies of `policy` (a `models.loaded.LoadedPolicy`, loaded here) to `prompts`, with its
    decoding backend; `best_of_scorer()` gives (name, reward model) that picks the best-of-N contestant's reply."""
    from rlhf_demo.models.presets import format_prompt

    model, tok = policy.get()
    gen = PolicyGenerator(model, tok, max_new_tokens=max_new_tokens, format_prompt=lambda p: format_prompt(tok, p),
                          decoding=policy.backend())
    if best_of_scorer is not None:
        gen.best_of_scorer = best_of_scorer
    return Arena(store, registry, gen, prompt_picker(prompts))
