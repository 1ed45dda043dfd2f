"""Seeded sampling with threads (rlhf_demo/models/seeding.py): an arena round, a frontier batch and PPO's probes,
two at a time in two threads with different seeds, each get the replies they get alone. (When each seeded torch's
global RNG inside `fork_rng`, a thread drew from, or restored over, the other's stream.)"""

from __future__ import annotations

import threading

import pytest
import torch

from rlhf_demo.arena.contestants import Contestant
from rlhf_demo.arena.generator import PolicyGenerator
from rlhf_demo.frontier.measure import sample_replies
from rlhf_demo.models.decoding import BACKENDS
from rlhf_demo.models.seeding import global_rng_from, seeded_generator

from .test_arena import PROMPT, bpe_tokenizer, tiny_llama

PROMPTS = [PROMPT, "\n\nHuman: What is a good name for a dog?\n\nAssistant:",
           "\n\nHuman: Tell me about the sea.\n\nAssistant:"] * 2


@pytest.fixture(scope="module")
def tokenizer():
    return bpe_tokenizer()


def arena(model, tokenizer, backend: str):
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=24, decoding=backend)
    hot = [Contestant("hot", 1.5)] * len(PROMPTS)
    return lambda seed: gen.generate(PROMPTS, hot, seed=seed)


def frontier(model, tokenizer, backend: str):
    b = BACKENDS[backend]
    return lambda seed: sample_replies(model, tokenizer, PROMPTS, seed, 24, 1.5, lambda p: p, b)["texts"]


def ppo_probes(model, tokenizer, backend: str):
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine

    class Length:
        def score(self, prompts, replies):
            return torch.tensor([float(len(r)) for r in replies])

    cfg = PPOConfig(batch_size=4, response_length=24, temperature=1.5, normalize_scores=False)
    engine = PPOEngine(model, tokenizer, Length(), PROMPTS, cfg, device="cpu", decoding=backend)
    return lambda seed: [s["response"] for s in engine.generate_probes(PROMPTS, seed=seed)]


def together(a, b, seed_a: int, seed_b: int) -> tuple[list, list]:
    """a(seed_a) and b(seed_b) in two threads started at the same moment."""
    start, out = threading.Barrier(2), {}

    def run(name, fn, seed):
        start.wait()
        out[name] = fn(seed)

    threads = [threading.Thread(target=run, args=("a", a, seed_a)), threading.Thread(target=run, args=("b", b, seed_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out["a"], out["b"]


@pytest.mark.parametrize("backend", ["eager", "fp32"])
@pytest.mark.parametrize("pair", [(arena, frontier), (arena, ppo_probes), (frontier, ppo_probes)],
                         ids=["arena+frontier", "arena+ppo", "frontier+ppo"])
def test_two_threads_sampling_at_once_each_get_their_replies_alone(tokenizer, backend, pair):
    a = pair[0](tiny_llama(len(tokenizer)), tokenizer, backend)  # each its own model, as in the app
    b = pair[1](tiny_llama(len(tokenizer)), tokenizer, backend)
    alone = {(i, s): (a, b)[i](s) for i in (0, 1) for s in (11, 22)}
    assert alone[0, 11] != alone[0, 22] and alone[1, 11] != alone[1, 22]  # the seed matters
    torch.manual_seed(5)
    expected_next = torch.rand(1)
    torch.manual_seed(5)
    for _ in range(2):
        got_a, got_b = together(a, b, 11, 22)
        assert got_a == alone[0, 11] and got_b == alone[1, 22]
        got_a, got_b = together(a, b, 22, 11)
        assert got_a == alone[0, 22] and got_b == alone[1, 11]
    assert torch.equal(torch.rand(1), expected_next)  # and the global RNG was left as it was


def test_a_generator_gives_what_seeding_the_global_rng_gave():
    """On a CPU a seeded generator's stream is `torch.manual_seed`'s, and `global_rng_from` hands the global RNG that
    stream for a block and takes the state the block reached: seeded results are those of the code before."""
    torch.manual_seed(3)
    expected = torch.rand(5)
    rng = seeded_generator(3)
    assert torch.equal(torch.rand(5, generator=rng), expected)
    torch.manual_seed(3)
    first, then = torch.rand(2), torch.rand(2)
    rng = seeded_generator(3)
    with global_rng_from(rng, "test"):
        assert torch.equal(torch.rand(2), first)
    assert torch.equal(torch.rand(2, generator=rng), then)  # the generator continues where the block left it
