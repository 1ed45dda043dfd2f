"""Seeded sampling with threads: every seeded call draws from a random stream of its own.

torch's global RNG is one per process. Seeding it (`torch.manual_seed` inside `torch.random.fork_rng`, which saves and
restores the GLOBAL state) from two threads at once, say an arena round and a PPO step, lets each one draw from or
restore over the other's stream: the same seed then gives other replies. So:

    rng = seeded_generator(seed, device)       # a torch.Generator of its own
    decode(..., generator=rng)                 # our sampler draws from it: no global state at all

and where no generator reaches (transformers' `generate`, peft's LoRA initialisation, dropout):

    with global_rng_from(rng, "arena round"):  # one turn of the compute lane: no other thread runs torch meanwhile
        model.generate(...)                    # draws from the global RNG, which holds rng's state for the block

On a CPU a generator seeded with s gives the very numbers `torch.manual_seed(s)` gave the global RNG, so seeded
results are the same as when the code seeded the global RNG.
"""

from __future__ import annotations

import contextlib

import torch

from rlhf_demo.lane import LANE


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A random stream of its own on `device`, seeded: whatever other threads draw meanwhile, the same seed gives the
    same samples."""
    return torch.Generator(device=torch.device(device)).manual_seed(seed)


def _global_generator(device: torch.device) -> torch.Generator:
    if device.type == "cpu":
        return torch.default_generator
    return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def global_rng_from(generator: torch.Generator | None, what: str, kind: str = "interactive"):
    """Run a block that draws from torch's global RNG as if it drew from `generator`, in one turn of the compute lane
    (`lane.py`, re-entrant; `what` and `kind` name the turn): the global RNG of the generator's device takes the
    generator's state, the block runs, the generator takes the state the block left, the global RNG its own back.
    None: the block runs in its turn and draws from the global RNG as it is."""
    if generator is None:
        with LANE(what, kind):
            yield
        return
    device = generator.device
    devices = [device] if device.type == "cuda" else []
    glob = _global_generator(device)
    with LANE(what, kind), torch.random.fork_rng(devices=devices, device_type=device.type):
        glob.set_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(glob.get_state())
